/*
 * common.c - what every subcommand of the mailtrail command shares:
 * error and usage messages, the common options, and the output set-up
 * (terminal or not, colour, width).
 *
 * Messages go to stderr as "mailtrail CMD: what is wrong"; usage errors
 * add "Try 'mailtrail CMD --help'." and return exit status 2.
 *
 * Thread safety: single-threaded program.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"

void
cli_error(const struct cli *cli, const char *fmt, ...)
{
	va_list	 ap;

	fflush(cli != NULL && cli->out != NULL ? cli->out : stdout);
	if (cli != NULL && cli->cmd != NULL)
		fprintf(stderr, "mailtrail %s: ", cli->cmd);
	else
		fprintf(stderr, "mailtrail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list	 ap;

	if (cli != NULL && cli->cmd != NULL)
		fprintf(stderr, "mailtrail %s: ", cli->cmd);
	else
		fprintf(stderr, "mailtrail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli != NULL && cli->cmd != NULL)
		fprintf(stderr, "Try 'mailtrail %s --help'.\n", cli->cmd);
	else
		fprintf(stderr, "Try 'mailtrail --help'.\n");
	return CLI_EXIT_ERROR;
}

int
cli_common_option(struct cli *cli, int ch, const char *arg, const char *help,
    int *done)
{
	switch (ch) {
	case 'c':
		cli->config_path = arg;
		return 1;
	case 'j':
		cli->journal_path = arg;
		return 1;
	case CLI_OPT_JSON:
		cli->json = 1;
		return 1;
	case CLI_OPT_NO_COLOR:
		cli->no_color = 1;
		return 1;
	case 'h':
		fputs(help, stdout);
		fputs("\nCommon options: -c FILE, -j/--journal PATH, --json,"
		    " --no-color, -h/--help.\n"
		    "Exit status: 0 found, 1 not found, 2 usage or journal"
		    " error.\n", stdout);
		*done = 1;
		return 1;
	default:
		return 0;
	}
}

int
cli_bad_option(const struct cli *cli, int ch, char **argv)
{
	char	 opt[3] = { '-', (char)optopt, '\0' };
	const char *arg = argv[optind - 1];

	/*
	 * A short option may sit in a cluster ("-xj"): name it alone.  For
	 * long options optopt is 0 or the option's code, not a character.
	 */
	if (optopt > ' ' && optopt < 0x7f)
		arg = opt;
	if (ch == ':')
		return cli_usage_error(cli, "option %s needs a value", arg);
	return cli_usage_error(cli, "unknown option %s", arg);
}

void
cli_setup_output(struct cli *cli)
{
	struct winsize	 ws;
	const char	*nc, *cols;

	cli->out = stdout;
	cli->tty = isatty(STDOUT_FILENO);
	nc = getenv("NO_COLOR");
	if (nc != NULL && *nc != '\0')
		cli->no_color = 1;
	cli->color = cli->tty && !cli->no_color;
	cli->width = 0;
	if (cli->tty) {
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
		    ws.ws_col > 0)
			cli->width = ws.ws_col;
		else if ((cols = getenv("COLUMNS")) != NULL &&
		    atoi(cols) > 0)
			cli->width = atoi(cols);
		else
			cli->width = 80;
	}
}

