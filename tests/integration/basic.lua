-- basic.lua - miltertest scenarios against a running mailtrail-milter.
--
-- Run by tests/integration/miltertest.sh as
--   miltertest -D sock=unix:/path -D lib=.../lib.lua -s basic.lua
-- Prints one line per check, "CHECK ok|fail <description>", and
-- "ID <name> <tracking id>" for every message, which the shell script turns
-- into TAP and uses to find the rows in the journal.  Everything runs inside
-- pcall: miltertest prints nothing when a script raises an error.

dofile(lib)

local function scenarios()
	-- 1. Two messages on one connection, with a rejected recipient.
	local c = open("client.example.org", "192.0.2.10")
	must(mt.macro(c, SMFIC_MAIL, "i", "4QA1B2C3D4", "{auth_type}",
	    "PLAIN", "{auth_authen}", "alice"), "macro mail")
	must(mt.mailfrom(c, "<alice@example.org>", "SIZE=321", "BODY=8BITMIME"),
	    "mailfrom")
	accepted_rcpt(c, "<bob@example.net>")
	rejected_rcpt(c, "<blocked@example.net>", "5.7.1",
	    "Recipient address rejected: Access denied")
	accepted_rcpt(c, "<carol@example.net>")
	must(mt.data(c), "data")
	must(mt.header(c, "Message-ID", "<first@example.org>"), "header")
	must(mt.header(c, "From", "Alice <alice@example.org>"), "header")
	must(mt.header(c, "Subject", "first message"), "header")
	must(mt.header(c, "Date", "Wed, 25 Nov 2026 14:00:00 +0000"), "header")
	must(mt.eoh(c), "eoh")
	body(c)
	finish(c, "first")

	must(mt.macro(c, SMFIC_MAIL, "i", "4QA1B2C3D5"), "macro mail 2")
	must(mt.mailfrom(c, "<>"), "mailfrom 2")
	accepted_rcpt(c, "<dave@example.net>")
	must(mt.header(c, "Message-ID", "<second@example.org>"), "header")
	must(mt.header(c, "Subject", "second message"), "header")
	must(mt.eoh(c), "eoh")
	body(c)
	finish(c, "second")
	must(mt.disconnect(c), "disconnect")

	-- 2. An aborted transaction (RSET after RCPT), then a message.
	c = open("aborter.example.org", "192.0.2.11")
	must(mt.mailfrom(c, "<eve@example.org>"), "mailfrom")
	accepted_rcpt(c, "<frank@example.net>")
	must(mt.abort(c), "abort")
	must(mt.mailfrom(c, "<eve@example.org>"), "mailfrom after abort")
	accepted_rcpt(c, "<frank@example.net>")
	must(mt.header(c, "Subject", "after abort"), "header")
	body(c)
	finish(c, "after-abort")
	must(mt.disconnect(c), "disconnect")

	-- 3. Forged tracking headers from an untrusted client, interleaved.
	c = open("forger.example.org", "192.0.2.12")
	must(mt.mailfrom(c, "<mallory@example.org>"), "mailfrom")
	accepted_rcpt(c, "<victim@example.net>")
	must(mt.header(c, "X-Mailtrail-ID", "FORGED0000000000000000000A"), "h")
	must(mt.header(c, "X-A", "first genuine"), "h")
	must(mt.header(c, "x-mailtrail-id", "FORGED0000000000000000000B"), "h")
	must(mt.header(c, "X-B", "second genuine"), "h")
	must(mt.header(c, "X-MAILTRAIL-ID", "FORGED0000000000000000000C"), "h")
	must(mt.header(c, "Subject", "forged"), "h")
	body(c)
	finish(c, "forged")
	check(mt.eom_check(c, MT_HDRDELETE, "X-Mailtrail-ID"),
	    "forged: the forged tracking headers are deleted")
	must(mt.disconnect(c), "disconnect")

	-- 4. The same header from a trusted network is kept as the parent.
	c = open("relay.example.org", "127.0.0.1")
	must(mt.mailfrom(c, "<upstream@example.org>"), "mailfrom")
	accepted_rcpt(c, "<inside@example.net>")
	must(mt.header(c, "X-Mailtrail-ID", "01JDZ3Q6X5K8N2T4V7W9Y0ABCD"), "h")
	body(c)
	finish(c, "trusted")
	check(not mt.eom_check(c, MT_HDRDELETE),
	    "trusted: nothing deleted")
	must(mt.disconnect(c), "disconnect")

	-- 6. An unknown command and a connection that drops mid-message.
	c = open("dropper.example.org", "192.0.2.14")
	must(mt.unknown(c, "XYZZY magic"), "unknown")
	must(mt.mailfrom(c, "<dropper@example.org>"), "mailfrom")
	accepted_rcpt(c, "<someone@example.net>")
	must(mt.header(c, "Subject", "never finished"), "h")
	-- Give libmilter time to read what was sent without waiting for
	-- replies ("no reply" flags): on a hang-up it drops unread commands.
	mt.sleep(0.5)
	must(mt.disconnect(c, false), "abrupt disconnect")

	-- 7. After all that the daemon still answers.
	c = open("after.example.org", "192.0.2.15")
	must(mt.mailfrom(c, "<after@example.org>"), "mailfrom")
	accepted_rcpt(c, "<x@example.net>")
	body(c)
	finish(c, "still-alive")
	must(mt.disconnect(c), "disconnect")
end

local ok, err = pcall(scenarios)
if not ok then
	mt.echo("CHECK fail script error: " .. tostring(err))
end
