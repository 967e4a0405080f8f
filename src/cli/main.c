/*
 * main.c - the mailtrail command: global options and subcommand dispatch.
 *
 *   mailtrail [-c FILE | -j JOURNAL] [--json] [--no-color] COMMAND [ARGS]
 *
 * Global options may also follow the command name (every subcommand
 * accepts them).  The journal is opened read-only by the subcommands that
 * need it; explain needs none.
 *
 * Exit status: 0 found, 1 not found, 2 usage or journal error (cli.h).
 *
 * Thread safety: single-threaded program.
 */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct command {
	const char	*name;
	int		(*fn)(struct cli *, int, char **);
	const char	*what;
} commands[] = {
	{ "show", cmd_show,
	  "the whole story of a message, by tracking ID, queue ID or"
	  " Message-ID" },
	{ "find", cmd_find, "messages matching filters, newest first" },
	{ "tail", cmd_tail, "follow the journal live, one line per message" },
	{ "audit", cmd_audit,
	  "SPF and DKIM failures and forged headers in a time window" },
	{ "stats", cmd_stats, "counts and rates for a time window" },
	{ "explain", cmd_explain,
	  "what an SMTP reply code or enhanced status code means" },
	{ "export", cmd_export, "messages as JSON Lines or CSV" },
	{ "ingest-log", cmd_ingest,
	  "store delivery events from MTA mail logs (backfill)" },
	{ "bounce", cmd_bounce,
	  "what a returned bounce says (--record: into the journal)" },
};

#define N_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp,
	    "usage: mailtrail [-c FILE | -j JOURNAL] [--json] [--no-color]"
	    " COMMAND [ARGS]\n"
	    "\n"
	    "Answers \"where did this email go?\" from mailtrail's journal.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].what);
	fprintf(fp, "  %-10s %s\n", "help", "help on a command"
	    " (same as COMMAND --help)");
	fprintf(fp,
	    "\n"
	    "Options (before or after the command):\n"
	    "  -c, --config FILE     configuration file to read journal.path"
	    " from\n"
	    "                        (default %s/mailtrail/mailtrail.conf when"
	    " it exists)\n"
	    "  -j, --journal PATH    the journal file (overrides the"
	    " configuration)\n"
	    "      --json            JSON output for scripts\n"
	    "      --no-color        no colour (also when NO_COLOR is set;"
	    " colour is\n"
	    "                        only ever used on a terminal)\n"
	    "  -h, --help            this help; COMMAND --help for a"
	    " command\n"
	    "  -V, --version         print the version\n"
	    "\n"
	    "Exit status: 0 found, 1 not found, 2 usage or journal error.\n"
	    "See mailtrail(1).\n", SYSCONFDIR);
}

static const struct command *
find_command(const char *name)
{
	size_t	 i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	struct cli	 cli;
	char		*help_argv[3];
	int		 ch, rc;

	setlocale(LC_ALL, "C");
	memset(&cli, 0, sizeof(cli));
	cli.out = stdout;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+" CLI_COMMON_SHORTOPTS "V",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cli.config_path = optarg;
			break;
		case 'j':
			cli.journal_path = optarg;
			break;
		case CLI_OPT_JSON:
			cli.json = 1;
			break;
		case CLI_OPT_NO_COLOR:
			cli.no_color = 1;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_FOUND;
		case 'V':
			printf("mailtrail %s\n", PACKAGE_VERSION);
			return CLI_EXIT_FOUND;
		default:
			return cli_bad_option(&cli, ch, argv);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_ERROR;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return CLI_EXIT_FOUND;
		}
		if ((cmd = find_command(argv[optind + 1])) == NULL)
			return cli_usage_error(NULL, "no command \"%s\"",
			    argv[optind + 1]);
		help_argv[0] = argv[optind + 1];
		help_argv[1] = (char *)"--help";
		help_argv[2] = NULL;
		cli.cmd = cmd->name;
		optind = 0;
		cli_setup_output(&cli);
		return cmd->fn(&cli, 2, help_argv);
	}
	if ((cmd = find_command(argv[optind])) == NULL)
		return cli_usage_error(NULL, "no command \"%s\" (commands:"
		    " show, find, tail, audit, stats, explain, export,"
		    " ingest-log, bounce)",
		    argv[optind]);
	cli.cmd = cmd->name;
	argc -= optind;
	argv += optind;
	optind = 0;		/* restart getopt for the command */
	opterr = 0;
	cli_setup_output(&cli);
	rc = cmd->fn(&cli, argc, argv);
	cli_close_journal(&cli);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(&cli, "error writing the output");
		return CLI_EXIT_ERROR;
	}
	return rc;
}
