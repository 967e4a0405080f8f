/*
 * smtpcodes.c - the catalogue of SMTP reply codes and enhanced status codes.
 *
 * Two tables: reply codes (RFC 5321 section 4.2.3 and the codes later RFCs
 * added) and enhanced status codes (RFC 3463, with every detail IANA's
 * "SMTP Enhanced Status Codes" registry lists, RFC 5248 onwards), each
 * sorted so a lookup is a binary search.  The texts are ours: what the code
 * means for the person who asks "why did my mail not arrive?", what usually
 * causes it and what to check.  Codes are looked up by number only, so the
 * catalogue never sees the reply text that came with them.
 *
 * Invariants: both tables are sorted by key (checked by the unit tests);
 * every enhanced entry names the classes it is registered for; no string is
 * ever NULL except a subject's "check".
 *
 * Thread safety: const data and pure functions only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailtrail/smtpcodes.h"

#define C_ALL	SMTP_CLASSES_ALL
#define C_FAIL	SMTP_CLASSES_FAIL
#define C_OK	SMTP_CLASS_BIT(2)
#define C_PERM	SMTP_CLASS_BIT(5)

static const struct smtp_reply_info replies[] = {
	{ 211, "system status",
	  "A status or help reply to a command that asked for one.",
	  "A client or an administrator sent HELP or a status query.",
	  "Nothing: it is informational.", "RFC 5321" },
	{ 214, "help message",
	  "Human-readable help about the server or a command.",
	  "The client sent HELP.",
	  "Nothing: it is informational.", "RFC 5321" },
	{ 220, "service ready",
	  "The server's greeting: it is ready for the SMTP session.",
	  "A new connection (or the answer to STARTTLS).",
	  "Nothing: it is the normal start of a session.", "RFC 5321" },
	{ 221, "closing connection",
	  "The server is closing the connection, normally after QUIT.",
	  "The client ended the session.",
	  "Nothing, unless it arrives before the message was sent.",
	  "RFC 5321" },
	{ 235, "authentication succeeded",
	  "SMTP AUTH succeeded; the client is now authenticated.",
	  "Correct credentials were given.",
	  "Nothing.", "RFC 4954" },
	{ 250, "ok",
	  "The command was carried out; after the end of DATA it means the "
	  "server took responsibility for the message.",
	  "Normal operation.",
	  "Nothing. After DATA, the text usually holds the receiver's queue "
	  "ID: follow the message in that server's log.", "RFC 5321" },
	{ 251, "user not local, will forward",
	  "The recipient is not local but the server will forward the "
	  "message.",
	  "An alias or forwarding rule on the receiving server.",
	  "Nothing, unless the message then goes missing: check where the "
	  "server forwards to.", "RFC 5321" },
	{ 252, "cannot verify user",
	  "The server cannot confirm the address (VRFY) but will accept mail "
	  "for it and try to deliver.",
	  "VRFY disabled for privacy, or the address is handled elsewhere.",
	  "Nothing: it is not an error.", "RFC 5321" },
	{ 334, "authentication challenge",
	  "The server waits for the next step of an SMTP AUTH exchange.",
	  "The client started AUTH.",
	  "Nothing.", "RFC 4954" },
	{ 354, "start mail input",
	  "The server is ready for the message content, ended by a line "
	  "with a single dot.",
	  "The client sent DATA after accepted recipients.",
	  "Nothing.", "RFC 5321" },
	{ 421, "service not available",
	  "The server is closing the connection and will not take mail now; "
	  "the client should try again later.",
	  "Shutdown or restart, too many connections or messages from one "
	  "client, rate limits, a filter (milter) that is down and set to "
	  "shut the session, an idle timeout.",
	  "The receiving server's log around that time: its load, connection "
	  "and rate limits, and whether its filters were reachable. The "
	  "sender's queue retries on its own.", "RFC 5321" },
	{ 432, "password transition needed",
	  "The user must change to a new password or mechanism before "
	  "authenticating this way.",
	  "An account migrated to a new authentication scheme.",
	  "Have the user authenticate once with the required mechanism or "
	  "reset the password.", "RFC 4954" },
	{ 450, "mailbox unavailable (temporary)",
	  "The action was not taken for now: the mailbox is busy or "
	  "temporarily blocked.",
	  "Greylisting, a temporary policy block, a DNS lookup of the sender "
	  "or client that failed for the moment, a locked mailbox.",
	  "Whether the sender retries (a real MTA does, greylisting then "
	  "lets it through); the receiving server's policy log; the DNS of "
	  "the sender's domain and client address.", "RFC 5321" },
	{ 451, "local error in processing",
	  "The server gave up on the command because of a problem on its "
	  "own side; trying later may work.",
	  "A content filter, milter or virus scanner that failed, a DNS "
	  "timeout, a full or broken queue, a configuration error.",
	  "The receiving server's log at that second: it usually names the "
	  "failing component. The sender's queue retries on its own.",
	  "RFC 5321" },
	{ 452, "insufficient storage or too many recipients",
	  "The action was not taken for now: the server is out of space, or "
	  "the transaction has more recipients than it takes at once.",
	  "A full disk or queue on the receiver, or a recipient limit per "
	  "message (the client should send the rest in another "
	  "transaction).",
	  "Disk and queue space on the receiving server; its recipient limit "
	  "per message.", "RFC 5321" },
	{ 454, "temporary authentication or TLS failure",
	  "AUTH or STARTTLS cannot be completed now because of a temporary "
	  "problem on the server.",
	  "An authentication back end (LDAP, SQL, saslauthd) that is down, "
	  "TLS keys that cannot be loaded.",
	  "The server's authentication service and TLS configuration.",
	  "RFC 4954, RFC 3207" },
	{ 455, "parameters not accommodated",
	  "The server cannot handle the MAIL FROM or RCPT TO parameters for "
	  "now.",
	  "An ESMTP parameter (SIZE, a DSN option) the server cannot meet at "
	  "the moment.",
	  "The parameters of the command (see the journal's MAIL FROM and "
	  "RCPT arguments).", "RFC 5321" },
	{ 500, "syntax error, command unrecognized",
	  "The server did not understand the command, or the line was too "
	  "long.",
	  "A broken or non-SMTP client, a line over the length limit, a "
	  "protocol mismatch (TLS spoken to a plain port).",
	  "What the client sent (unknown commands are in the connection "
	  "record); the client software.", "RFC 5321" },
	{ 501, "syntax error in parameters",
	  "The command was understood but its arguments are malformed.",
	  "An address that breaks RFC 5321 syntax, a bad HELO argument, "
	  "unbalanced angle brackets.",
	  "The exact address or HELO argument the client sent.", "RFC 5321" },
	{ 502, "command not implemented",
	  "The server knows the command but does not offer it.",
	  "VRFY, EXPN, ETRN or AUTH disabled on that server.",
	  "Whether the client needs the command at all.", "RFC 5321" },
	{ 503, "bad sequence of commands",
	  "The command came in the wrong order.",
	  "RCPT before MAIL, DATA without an accepted recipient, AUTH "
	  "required first, a client that pipelines without waiting.",
	  "The client's SMTP conversation: were all earlier commands "
	  "accepted? Often the real error is an earlier rejection.",
	  "RFC 5321" },
	{ 504, "command parameter not implemented",
	  "The server does not support a parameter of the command.",
	  "An AUTH mechanism the server does not offer, an unknown ESMTP "
	  "option.",
	  "The mechanisms or extensions the server announces after EHLO.",
	  "RFC 5321" },
	{ 521, "host does not accept mail",
	  "This host never accepts mail; retrying is pointless.",
	  "A host that publishes it receives no mail, e.g. a null MX "
	  "domain's fallback or a web server on port 25.",
	  "Whether mail is sent to the right host: the domain's MX records.",
	  "RFC 7504" },
	{ 523, "encryption needed",
	  "An encrypted session (TLS) is needed for the requested "
	  "authentication mechanism.",
	  "A plaintext password mechanism attempted without STARTTLS.",
	  "Use STARTTLS before AUTH in the client's settings.", "RFC 5248" },
	{ 525, "user account disabled",
	  "Authentication worked but the account may not send mail.",
	  "A disabled, locked or suspended account.",
	  "The account's state in the user directory.", "RFC 5248" },
	{ 530, "authentication or TLS required",
	  "The server requires SMTP AUTH (or STARTTLS) before it accepts "
	  "this command.",
	  "A client submitting mail without logging in, or on a port that "
	  "requires TLS first.",
	  "The client's account and encryption settings; the port used "
	  "(587 submission needs AUTH).", "RFC 4954" },
	{ 534, "authentication mechanism too weak",
	  "The server refuses the chosen AUTH mechanism as too weak.",
	  "PLAIN or LOGIN attempted where the server requires a stronger "
	  "mechanism.",
	  "The client's authentication method setting.", "RFC 4954" },
	{ 535, "authentication credentials invalid",
	  "SMTP AUTH failed: wrong user name or password.",
	  "A mistyped or changed password, a locked account, a password "
	  "guessing attack.",
	  "The user's credentials; repeated failures from one address "
	  "suggest an attack.", "RFC 4954" },
	{ 538, "encryption required for mechanism",
	  "The chosen AUTH mechanism may only be used over an encrypted "
	  "session.",
	  "AUTH PLAIN/LOGIN without STARTTLS.",
	  "Enable STARTTLS in the client.", "RFC 4954" },
	{ 550, "mailbox unavailable",
	  "The action was refused for good: the mailbox does not exist, "
	  "access is denied, or policy rejects the command.",
	  "An unknown user, relaying denied, a blocklisted client, SPF or "
	  "DMARC rejection, a sender the recipient blocked.",
	  "The enhanced status code and text say which: 5.1.1 is an "
	  "unknown user, 5.7.1 a policy refusal. Check the address's "
	  "spelling first.", "RFC 5321" },
	{ 551, "user not local",
	  "The recipient is not handled here; the server may name another "
	  "address to try.",
	  "A user who moved, a server that does not forward.",
	  "The address suggested in the text; the recipient's current "
	  "address.", "RFC 5321" },
	{ 552, "storage allocation exceeded",
	  "The message was refused for good because it exceeds a storage "
	  "limit.",
	  "A full mailbox, a message larger than the server or mailbox "
	  "allows (older servers also used it for too many recipients).",
	  "The message size (recorded in the journal) against the "
	  "receiver's limit; whether the recipient's mailbox is full.",
	  "RFC 5321" },
	{ 553, "mailbox name not allowed",
	  "The address is not acceptable to this server.",
	  "Bad address syntax, a sender address the server will not accept "
	  "(not owned by the authenticated user, unknown domain).",
	  "The exact MAIL FROM or RCPT TO address; for senders, whether the "
	  "authenticated user may use it.", "RFC 5321" },
	{ 554, "transaction failed",
	  "The transaction was refused. After DATA: the content was "
	  "rejected. At connection: no SMTP service for this client.",
	  "Spam or virus filtering, a blocklisted client address, a policy "
	  "that rejects the whole message, a server refusing service.",
	  "The text and enhanced code; the client address against "
	  "blocklists; the receiver's content filter log.", "RFC 5321" },
	{ 555, "parameters not recognized",
	  "A MAIL FROM or RCPT TO parameter is unknown or not implemented.",
	  "A client that sends an ESMTP option the server did not announce.",
	  "The command's ESMTP parameters (in the journal) against the "
	  "server's EHLO reply.", "RFC 5321" },
	{ 556, "domain does not accept mail",
	  "The recipient's domain says it receives no mail at all.",
	  "The domain publishes a null MX record (\"MX 0 .\").",
	  "The recipient's domain: it is probably mistyped or not meant to "
	  "receive mail.", "RFC 7504" },
};

/*
 * Enhanced status codes, sorted by (subject, detail), each subject's own
 * entry (detail -1) first.
 */
static const struct smtp_status_info statuses[] = {
	{ 0, -1, "other or undefined status",
	  "No more is known than the class.", NULL, "RFC 3463", C_ALL },
	{ 0, 0, "other undefined status",
	  "The server gives no detail beyond success, temporary or permanent "
	  "failure.",
	  "The reply text: it is the only explanation given.",
	  "RFC 3463", C_ALL },

	{ 1, -1, "addressing status",
	  "Something about the sender or recipient address.", NULL,
	  "RFC 3463", C_ALL },
	{ 1, 0, "other address status",
	  "Something about an address caused this; no detail given (2.1.0 "
	  "is the usual \"sender ok\").",
	  "The address and the reply text.", "RFC 3463", C_ALL },
	{ 1, 1, "bad destination mailbox address",
	  "The recipient mailbox does not exist: the part before the @ is "
	  "unknown at the destination.",
	  "The spelling of the recipient address; whether the account was "
	  "deleted or renamed.", "RFC 3463", C_FAIL },
	{ 1, 2, "bad destination system address",
	  "The recipient's domain does not exist or cannot take mail.",
	  "The spelling of the domain; its MX and A records.",
	  "RFC 3463", C_FAIL },
	{ 1, 3, "bad destination mailbox address syntax",
	  "The recipient address is not a valid address.",
	  "Stray characters, spaces or missing parts in the address.",
	  "RFC 3463", C_FAIL },
	{ 1, 4, "destination mailbox address ambiguous",
	  "The address matches more than one mailbox at the destination.",
	  "The full, exact address of the recipient.", "RFC 3463", C_FAIL },
	{ 1, 5, "destination address valid",
	  "The recipient address is accepted (the usual \"2.1.5 Ok\" after "
	  "RCPT TO).",
	  "Nothing.", "RFC 3463", C_OK },
	{ 1, 6, "destination mailbox has moved",
	  "The mailbox existed but is gone, and no forwarding address is "
	  "known.",
	  "The recipient's new address, by other means.", "RFC 3463", C_FAIL },
	{ 1, 7, "bad sender's mailbox address syntax",
	  "The sender (MAIL FROM) address is not a valid address.",
	  "The sending application's envelope sender setting.",
	  "RFC 3463", C_FAIL },
	{ 1, 8, "bad sender's system address",
	  "The sender's domain does not exist or cannot take replies.",
	  "The sender domain's DNS (MX or A records); a typo in the sending "
	  "application's settings.", "RFC 3463", C_FAIL },
	{ 1, 9, "message relayed to non-compliant mailer",
	  "The address is valid but the next system cannot report further "
	  "delivery status.",
	  "Nothing: delivery went on without status reports.",
	  "RFC 3886", C_OK },
	{ 1, 10, "recipient address has null MX",
	  "The recipient's domain says it receives no mail (null MX).",
	  "The recipient's domain: probably mistyped.", "RFC 7505", C_FAIL },

	{ 2, -1, "mailbox status",
	  "The mailbox exists but something about it.", NULL,
	  "RFC 3463", C_ALL },
	{ 2, 0, "other or undefined mailbox status",
	  "The mailbox exists but cannot take the message; no detail given.",
	  "The reply text; ask the recipient's administrator.",
	  "RFC 3463", C_FAIL },
	{ 2, 1, "mailbox disabled",
	  "The mailbox exists but does not accept messages (suspended, "
	  "closed).",
	  "Whether the recipient's account is still in use.",
	  "RFC 3463", C_FAIL },
	{ 2, 2, "mailbox full",
	  "The recipient's mailbox is over its quota.",
	  "Nothing on the sending side: the recipient must make room. "
	  "Temporary (4.2.2) keeps retrying; permanent gives up.",
	  "RFC 3463", C_FAIL },
	{ 2, 3, "message length exceeds administrative limit",
	  "The message is bigger than this mailbox accepts.",
	  "The message size against the recipient's limit; send large "
	  "files another way.", "RFC 3463", C_FAIL },
	{ 2, 4, "mailing list expansion problem",
	  "The recipient is a list that could not be expanded.",
	  "The list's configuration and membership on the receiving side.",
	  "RFC 3463", C_FAIL },

	{ 3, -1, "mail system status",
	  "The destination system itself.", NULL, "RFC 3463", C_ALL },
	{ 3, 0, "other or undefined mail system status",
	  "The destination system normally takes mail but something "
	  "prevented it.",
	  "The receiving server's log.", "RFC 3463", C_FAIL },
	{ 3, 1, "mail system full",
	  "The destination system is out of storage.",
	  "Disk and queue space on the receiving server.",
	  "RFC 3463", C_FAIL },
	{ 3, 2, "system not accepting network messages",
	  "The host is not taking mail now (maintenance, shutdown, "
	  "overload) or never does.",
	  "Whether the host is meant to receive mail (MX records); its "
	  "state.", "RFC 3463", C_FAIL },
	{ 3, 3, "system not capable of selected features",
	  "The message needs a feature the destination lacks (8BITMIME, "
	  "SMTPUTF8, DSN).",
	  "The message's ESMTP parameters and encoding.",
	  "RFC 3463", C_FAIL },
	{ 3, 4, "message too big for system",
	  "The message is larger than the destination system accepts at "
	  "all.",
	  "The message size against the receiver's SIZE limit announced "
	  "after EHLO.", "RFC 3463", C_FAIL },
	{ 3, 5, "system incorrectly configured",
	  "The destination is misconfigured for this message.",
	  "Nothing on the sending side; tell the receiver's "
	  "administrator.", "RFC 3463", C_FAIL },
	{ 3, 6, "requested priority was changed",
	  "The message was taken but its requested priority was changed.",
	  "Nothing, unless the priority matters.", "RFC 6710", C_OK },

	{ 4, -1, "network and routing status",
	  "The network or the routing of the message.", NULL,
	  "RFC 3463", C_ALL },
	{ 4, 0, "other or undefined network or routing status",
	  "A network or routing problem; no detail given.",
	  "Connectivity to the next hop; DNS.", "RFC 3463", C_FAIL },
	{ 4, 1, "no answer from host",
	  "The next hop did not answer the connection attempt.",
	  "Whether the receiving host is up and reachable on port 25 "
	  "(firewalls).", "RFC 3463", C_FAIL },
	{ 4, 2, "bad connection",
	  "A connection was made but could not complete the transaction "
	  "(it dropped or timed out).",
	  "Network stability, TLS problems, timeouts between the hosts.",
	  "RFC 3463", C_FAIL },
	{ 4, 3, "directory server failure",
	  "A directory (usually DNS) needed for the message did not answer.",
	  "DNS resolvers of the server that reported it; the domain's "
	  "name servers.", "RFC 3463", C_FAIL },
	{ 4, 4, "unable to route",
	  "No next hop could be found for the destination.",
	  "The domain's MX and A records; the server's transport and "
	  "relay settings.", "RFC 3463", C_FAIL },
	{ 4, 5, "mail system congestion",
	  "The mail system is too busy to take the message now.",
	  "Nothing but time: the sender retries. Frequent cases mean the "
	  "receiver is overloaded or rate-limits the sender.",
	  "RFC 3463", C_FAIL },
	{ 4, 6, "routing loop detected",
	  "The message went round in circles (too many Received headers).",
	  "Forwarding and MX settings that send the domain's mail back to "
	  "itself.", "RFC 3463", C_FAIL },
	{ 4, 7, "delivery time expired",
	  "The message stayed queued too long and was given up (or a "
	  "warning that it is still queued).",
	  "Why earlier attempts failed: the deferral reasons in the log.",
	  "RFC 3463", C_FAIL },

	{ 5, -1, "mail delivery protocol status",
	  "The SMTP protocol exchange.", NULL, "RFC 3463", C_ALL },
	{ 5, 0, "other or undefined protocol status",
	  "A protocol problem; no detail given.",
	  "The SMTP conversation (client software, intermediate proxies).",
	  "RFC 3463", C_ALL },
	{ 5, 1, "invalid command",
	  "A command out of sequence or not supported.",
	  "The client software; an earlier rejected command.",
	  "RFC 3463", C_FAIL },
	{ 5, 2, "syntax error",
	  "A command the server could not parse.",
	  "The client software; a proxy or firewall that alters SMTP.",
	  "RFC 3463", C_FAIL },
	{ 5, 3, "too many recipients",
	  "More recipients than the server takes in one message.",
	  "Send to fewer recipients per message; a real MTA splits them by "
	  "itself after a temporary error.", "RFC 3463", C_FAIL },
	{ 5, 4, "invalid command arguments",
	  "A valid command with arguments the server does not accept.",
	  "The ESMTP parameters of MAIL FROM or RCPT TO.",
	  "RFC 3463", C_FAIL },
	{ 5, 5, "wrong protocol version",
	  "The two sides disagree on the protocol version.",
	  "Client and server software.", "RFC 3463", C_FAIL },
	{ 5, 6, "authentication exchange line too long",
	  "An AUTH line was longer than the server accepts.",
	  "The client's authentication data (very long tokens).",
	  "RFC 4954", C_PERM },

	{ 6, -1, "message content or media status",
	  "The message content.", NULL, "RFC 3463", C_ALL },
	{ 6, 0, "other or undefined media error",
	  "Something in the content caused the failure; no detail given. "
	  "Often a content filter's verdict (spam, virus, attachment type).",
	  "The reply text; the receiving side's content filter.",
	  "RFC 3463", C_FAIL },
	{ 6, 1, "media not supported",
	  "The destination does not accept this type of content.",
	  "Attachment types and MIME structure.", "RFC 3463", C_FAIL },
	{ 6, 2, "conversion required and prohibited",
	  "The content would need converting but conversion is not allowed.",
	  "The message encoding (8-bit content sent to a 7-bit path).",
	  "RFC 3463", C_FAIL },
	{ 6, 3, "conversion required but not supported",
	  "The content would need converting and nothing on the path can.",
	  "The message encoding.", "RFC 3463", C_FAIL },
	{ 6, 4, "conversion with loss performed",
	  "The content was converted and something was lost doing it.",
	  "Whether the recipient got a usable message.",
	  "RFC 3463", C_ALL },
	{ 6, 5, "conversion failed",
	  "A needed conversion of the content did not work.",
	  "The message encoding and MIME structure.", "RFC 3463", C_FAIL },
	{ 6, 6, "message content not available",
	  "Content referenced by the message could not be fetched.",
	  "The submission client (BURL) and the IMAP server it points to.",
	  "RFC 4468", C_FAIL },
	{ 6, 7, "non-ASCII addresses not permitted",
	  "An internationalized (UTF-8) address was used where it is not "
	  "allowed.",
	  "Whether every hop supports SMTPUTF8; use an ASCII address.",
	  "RFC 6531", C_FAIL },
	{ 6, 8, "UTF-8 string reply required but not permitted",
	  "The server needs to answer in UTF-8 but the client did not allow "
	  "it.",
	  "SMTPUTF8 support of the client.", "RFC 6531", C_FAIL },
	{ 6, 9, "UTF-8 header cannot be transferred",
	  "The message has UTF-8 headers and some recipient's path cannot "
	  "carry them.",
	  "SMTPUTF8 support along the path to that recipient.",
	  "RFC 6531", C_FAIL },
	{ 6, 10, "duplicate of X.6.8 (deprecated)",
	  "Registered by mistake as a second code for X.6.8; not to be "
	  "used.",
	  "Read it as X.6.8.", "RFC 6531", C_FAIL },

	{ 7, -1, "security or policy status",
	  "Security, authentication or local policy.", NULL,
	  "RFC 3463", C_ALL },
	{ 7, 0, "other or undefined security status",
	  "A security or policy reason; no detail given (2.7.0 is also "
	  "\"authentication succeeded\").",
	  "The reply text; the receiver's policy.", "RFC 3463", C_ALL },
	{ 7, 1, "delivery not authorized, message refused",
	  "The sender may not send to this recipient: a policy decision "
	  "(relay denied, blocklist, sender blocked, spam verdict).",
	  "The reply text names the policy. Relay denied: the client must "
	  "authenticate or be in the relay networks. Blocklist: the client "
	  "address's reputation.", "RFC 3463", C_FAIL },
	{ 7, 2, "mailing list expansion prohibited",
	  "The sender may not post to this list.",
	  "The list's posting policy and the sender's membership.",
	  "RFC 3463", C_FAIL },
	{ 7, 3, "security conversion required but not possible",
	  "The message would need a security conversion that cannot be "
	  "done.",
	  "Encryption or signing settings of the sender.",
	  "RFC 3463", C_FAIL },
	{ 7, 4, "security features not supported",
	  "The message asks for security features the path lacks.",
	  "The sender's security settings.", "RFC 3463", C_FAIL },
	{ 7, 5, "cryptographic failure",
	  "Decrypting or verifying the message failed (missing or bad "
	  "keys).",
	  "Keys and certificates on both sides.", "RFC 3463", C_FAIL },
	{ 7, 6, "cryptographic algorithm not supported",
	  "The message uses an algorithm the receiver does not support.",
	  "The sender's signing or encryption algorithm.",
	  "RFC 3463", C_FAIL },
	{ 7, 7, "message integrity failure",
	  "The message was altered or damaged on the way.",
	  "Intermediate systems that modify messages (footers, "
	  "re-encoding).", "RFC 3463", C_FAIL },
	{ 7, 8, "authentication credentials invalid",
	  "SMTP AUTH failed: wrong user name or password.",
	  "The user's credentials; many failures from one client suggest "
	  "password guessing.", "RFC 4954", C_FAIL },
	{ 7, 9, "authentication mechanism too weak",
	  "The chosen AUTH mechanism is weaker than the server allows.",
	  "The client's authentication method.", "RFC 4954", C_FAIL },
	{ 7, 10, "encryption needed",
	  "An encrypted session is needed first (for the authentication "
	  "mechanism or by policy).",
	  "STARTTLS in the client's settings.", "RFC 5248", C_FAIL },
	{ 7, 11, "encryption required for requested authentication mechanism",
	  "This AUTH mechanism may only be used over TLS.",
	  "STARTTLS in the client's settings.", "RFC 4954", C_FAIL },
	{ 7, 12, "password transition needed",
	  "The user must switch to a new password or mechanism.",
	  "Have the user authenticate once as required or reset the "
	  "password.", "RFC 4954", C_FAIL },
	{ 7, 13, "user account disabled",
	  "The account exists but may not send or receive now.",
	  "The account's state in the user directory.", "RFC 5248", C_FAIL },
	{ 7, 14, "trust relationship required",
	  "The submission needs a trust relationship with a third party that "
	  "is not set up.",
	  "The relationship between the two servers.", "RFC 5248", C_FAIL },
	{ 7, 15, "priority level is too low",
	  "The requested priority is below what the server accepts now.",
	  "The message's priority setting.", "RFC 6710", C_FAIL },
	{ 7, 16, "message is too big for the specified priority",
	  "Messages of this priority may not be this large.",
	  "The message size and priority.", "RFC 6710", C_FAIL },
	{ 7, 17, "mailbox owner has changed",
	  "The recipient mailbox changed hands since the date the sender "
	  "gave (RRVS).",
	  "Whether the address still belongs to the intended person.",
	  "RFC 7293", C_PERM },
	{ 7, 18, "domain owner has changed",
	  "The recipient domain changed hands since the date the sender "
	  "gave (RRVS).",
	  "Whether the domain still belongs to the intended organisation.",
	  "RFC 7293", C_PERM },
	{ 7, 19, "RRVS test cannot be completed",
	  "The receiver cannot check the recipient-valid-since date asked "
	  "for.",
	  "Send without the RRVS requirement, or wait.", "RFC 7293",
	  C_FAIL },
	{ 7, 20, "no passing DKIM signature found",
	  "The receiver requires a valid DKIM signature and found none.",
	  "The sender's DKIM signing and published key; systems on the way "
	  "that alter the message.", "RFC 7372", C_PERM },
	{ 7, 21, "no acceptable DKIM signature found",
	  "DKIM signatures verified, but none satisfies the receiver's "
	  "policy (wrong domain, weak key or algorithm).",
	  "The signing domain and key length (1024 bits or more, not "
	  "rsa-sha1).", "RFC 7372", C_PERM },
	{ 7, 22, "no valid author-matched DKIM signature found",
	  "No valid DKIM signature from the domain in the From header.",
	  "Sign with the From domain (DMARC alignment).", "RFC 7372",
	  C_PERM },
	{ 7, 23, "SPF validation failed",
	  "The client is not allowed to send for the sender's domain by its "
	  "SPF record.",
	  "The sender domain's SPF record against the client address; "
	  "forwarding that breaks SPF; or a forgery.", "RFC 7372", C_PERM },
	{ 7, 24, "SPF validation error",
	  "The SPF check could not be completed (DNS error or a broken SPF "
	  "record).",
	  "The sender domain's SPF record syntax and DNS lookups (at most "
	  "10).", "RFC 7372", C_FAIL },
	{ 7, 25, "reverse DNS validation failed",
	  "The client address has no matching reverse DNS name.",
	  "The PTR record of the sending address and the A/AAAA record of "
	  "that name.", "RFC 7372", C_PERM },
	{ 7, 26, "multiple authentication checks failed",
	  "Several authentication checks (SPF, DKIM, reverse DNS) failed "
	  "together.",
	  "Each check in turn; often a forgery.", "RFC 7372", C_PERM },
	{ 7, 27, "sender address has null MX",
	  "The sender's domain says it receives no mail, so no reply or "
	  "bounce could reach it.",
	  "The sending application's envelope sender domain.", "RFC 7505",
	  C_PERM },
	{ 7, 28, "mail flood detected",
	  "The message looks like part of a flood of similar unwanted "
	  "messages.",
	  "Sending rate and volume from the client; a compromised account.",
	  "IANA registry", C_FAIL },
	{ 7, 29, "ARC validation failure",
	  "The message's ARC chain did not validate.",
	  "Intermediaries (lists, forwarders) that sign with ARC.",
	  "RFC 8617", C_FAIL },
	{ 7, 30, "REQUIRETLS support required",
	  "The message demands TLS on every hop and the next hop does not "
	  "offer REQUIRETLS.",
	  "TLS and REQUIRETLS support of the next hop.", "RFC 8689",
	  C_FAIL },
};

#define N_REPLIES	(sizeof(replies) / sizeof(replies[0]))
#define N_STATUSES	(sizeof(statuses) / sizeof(statuses[0]))

/* Parse 1..maxd digits at s; -1 if none or too many. */
static int
parse_digits(const char *s, size_t len, size_t maxd, size_t *used)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == maxd)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0)
		return -1;
	*used = i;
	return v;
}

int
smtp_reply_parse(const char *s, size_t len, int *code)
{
	if (s == NULL || len != 3)
		return -1;
	if (s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    s[2] < '0' || s[2] > '9')
		return -1;
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return 0;
}

int
smtp_status_parse(const char *s, size_t len, struct smtp_status *out)
{
	size_t	 used, pos;
	int	 subject, detail;

	if (s == NULL || len < 5)
		return -1;
	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return -1;
	pos = 2;
	if ((subject = parse_digits(s + pos, len - pos, 3, &used)) < 0)
		return -1;
	pos += used;
	if (pos >= len || s[pos] != '.')
		return -1;
	pos++;
	if ((detail = parse_digits(s + pos, len - pos, 3, &used)) < 0)
		return -1;
	if (pos + used != len)
		return -1;
	out->cls = s[0] - '0';
	out->subject = subject;
	out->detail = detail;
	return 0;
}

enum smtp_kind
smtp_reply_kind(int code)
{
	switch (code / 100) {
	case 2:
		return code >= 200 && code <= 299 ? SMTP_KIND_SUCCESS :
		    SMTP_KIND_INVALID;
	case 3:
		return SMTP_KIND_INTERMEDIATE;
	case 4:
		return SMTP_KIND_TEMPORARY;
	case 5:
		return SMTP_KIND_PERMANENT;
	default:
		return SMTP_KIND_INVALID;
	}
}

enum smtp_kind
smtp_class_kind(int cls)
{
	switch (cls) {
	case 2:
		return SMTP_KIND_SUCCESS;
	case 4:
		return SMTP_KIND_TEMPORARY;
	case 5:
		return SMTP_KIND_PERMANENT;
	default:
		return SMTP_KIND_INVALID;
	}
}

const char *
smtp_kind_name(enum smtp_kind kind)
{
	switch (kind) {
	case SMTP_KIND_SUCCESS:
		return "success";
	case SMTP_KIND_INTERMEDIATE:
		return "intermediate";
	case SMTP_KIND_TEMPORARY:
		return "temporary";
	case SMTP_KIND_PERMANENT:
		return "permanent";
	default:
		return "invalid";
	}
}

const char *
smtp_kind_meaning(enum smtp_kind kind)
{
	switch (kind) {
	case SMTP_KIND_SUCCESS:
		return "Success: the server did what was asked.";
	case SMTP_KIND_INTERMEDIATE:
		return "Intermediate: the server waits for more from the "
		    "client.";
	case SMTP_KIND_TEMPORARY:
		return "Temporary failure: the message as sent is fine but a "
		    "passing condition stopped it; the sender's server keeps "
		    "it queued and retries (usually for up to five days) "
		    "before giving up with a bounce.";
	case SMTP_KIND_PERMANENT:
		return "Permanent failure: retrying the same message will not "
		    "help; something about the message, the address or the "
		    "sender must change. The sender gets a bounce.";
	default:
		return "Not a valid class.";
	}
}

const struct smtp_reply_info *
smtp_reply_lookup(int code)
{
	size_t	 lo = 0, hi = N_REPLIES, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (replies[mid].code == code)
			return &replies[mid];
		if (replies[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
status_cmp(int s1, int d1, int s2, int d2)
{
	if (s1 != s2)
		return s1 < s2 ? -1 : 1;
	if (d1 != d2)
		return d1 < d2 ? -1 : 1;
	return 0;
}

static const struct smtp_status_info *
status_find(int subject, int detail)
{
	size_t	 lo = 0, hi = N_STATUSES, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = status_cmp(statuses[mid].subject, statuses[mid].detail,
		    subject, detail);
		if (c == 0)
			return &statuses[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct smtp_status_info *
smtp_status_lookup(int subject, int detail)
{
	if (detail < 0)
		return NULL;
	return status_find(subject, detail);
}

const struct smtp_status_info *
smtp_subject_lookup(int subject)
{
	return status_find(subject, -1);
}

int
smtp_describe(char *out, size_t outsz, int code, const char *status)
{
	const struct smtp_status_info *si = NULL, *subj = NULL;
	const struct smtp_reply_info *ri = NULL;
	struct smtp_status st;
	enum smtp_kind kind = SMTP_KIND_INVALID;

	if (outsz > 0)
		out[0] = '\0';
	if (status != NULL && *status != '\0' &&
	    smtp_status_parse(status, strlen(status), &st) == 0) {
		kind = smtp_class_kind(st.cls);
		si = smtp_status_lookup(st.subject, st.detail);
		if (si == NULL)
			subj = smtp_subject_lookup(st.subject);
	}
	if (code != 0) {
		ri = smtp_reply_lookup(code);
		/* The reply code decides what the client does. */
		if (smtp_reply_kind(code) != SMTP_KIND_INVALID)
			kind = smtp_reply_kind(code);
	}
	if (kind == SMTP_KIND_INVALID)
		return snprintf(out, outsz, "%s", "");
	if (si != NULL)
		return snprintf(out, outsz, "%s: %s", smtp_kind_name(kind),
		    si->summary);
	if (ri != NULL)
		return snprintf(out, outsz, "%s: %s", smtp_kind_name(kind),
		    ri->summary);
	if (subj != NULL)
		return snprintf(out, outsz, "%s: %s (unregistered detail)",
		    smtp_kind_name(kind), subj->summary);
	return snprintf(out, outsz, "%s", smtp_kind_name(kind));
}

size_t
smtp_reply_count(void)
{
	return N_REPLIES;
}

const struct smtp_reply_info *
smtp_reply_at(size_t i)
{
	return i < N_REPLIES ? &replies[i] : NULL;
}

size_t
smtp_status_count(void)
{
	return N_STATUSES;
}

const struct smtp_status_info *
smtp_status_at(size_t i)
{
	return i < N_STATUSES ? &statuses[i] : NULL;
}
