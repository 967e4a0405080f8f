-- sendmail-shapes.lua - macro sequences shaped like Sendmail 8.17's, as
-- measured through a real Sendmail (tests/integration/sendmail.sh), for the
-- cases a short real session does not produce.
--
-- Run by sendmail.sh as
--   miltertest -D sock=unix:/path -D lib=.../lib.lua -s sendmail-shapes.lua
-- Prints "CHECK ok|fail DESC" per check and "ID <name> <tracking id>" per
-- message; the shell script checks the journal rows of those IDs.
--
-- Sendmail's shapes:
--   - connect macros: j, {daemon_name} = the DAEMON_OPTIONS Name= (MTA),
--     v = "8.17.1.9"; {client_*} as Postfix;
--   - "i" is the real queue ID from MAIL on, a new one per transaction; a
--     value sent before MAIL (at CONNECT or HELO, when a site's macro list
--     asks for it there) is provisional;
--   - a recipient Sendmail rejected: {rcpt_mailer} = "error",
--     {rcpt_host} = the enhanced status code, {rcpt_addr} = the whole reply
--     ("550 5.1.1 User unknown"); accepted: esmtp, "[127.0.0.1]", address;
--   - TLS macros come with the EHLO after STARTTLS and again at MAIL;
--     {cert_subject} and {cert_issuer} are empty without a client
--     certificate; {auth_*} at MAIL.

dofile(lib)

-- A connection as Sendmail opens it (no "i": our lists do not ask for it
-- at CONNECT; provisional = a value to send anyway, at CONNECT and HELO).
local function sm_open(host, ip, port, provisional)
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then
		error("cannot connect to " .. sock)
	end
	must(mt.negotiate(conn, nil, nil, nil), "negotiate")
	if provisional then
		must(mt.macro(conn, SMFIC_CONNECT, "j", "sm.example.test",
		    "{daemon_name}", "MTA", "v", "8.17.1.9",
		    "{client_addr}", ip, "{client_port}", port,
		    "{client_name}", host, "{client_ptr}", host,
		    "{client_resolve}", "OK", "i", provisional),
		    "macro connect")
	else
		must(mt.macro(conn, SMFIC_CONNECT, "j", "sm.example.test",
		    "{daemon_name}", "MTA", "v", "8.17.1.9",
		    "{client_addr}", ip, "{client_port}", port,
		    "{client_name}", host, "{client_ptr}", host,
		    "{client_resolve}", "OK"), "macro connect")
	end
	must(mt.conninfo(conn, host, ip), "conninfo")
	check(mt.getreply(conn) == SMFIR_CONTINUE, host .. ": connect continues")
	check(mt.test_option(conn, SMFIP_RCPT_REJ),
	    host .. ": negotiates rejected recipients (SMFIP_RCPT_REJ)")
	return conn
end

local function sm_helo(conn, name, macros)
	if mt.test_option(conn, SMFIP_NOHELO) then
		return
	end
	if macros then
		must(mt.macro(conn, SMFIC_HELO, table.unpack(macros)),
		    "macro helo")
	end
	must(mt.helo(conn, name), "helo")
end

local function sm_accepted(conn, qid, rcpt)
	must(mt.macro(conn, SMFIC_RCPT, "i", qid, "{rcpt_mailer}", "esmtp",
	    "{rcpt_host}", "[127.0.0.1]", "{rcpt_addr}",
	    string.sub(rcpt, 2, -2)), "macro rcpt")
	must(mt.rcptto(conn, rcpt), "rcptto")
end

local function sm_rejected(conn, qid, rcpt, status, reply)
	must(mt.macro(conn, SMFIC_RCPT, "i", qid, "{rcpt_mailer}", "error",
	    "{rcpt_host}", status, "{rcpt_addr}", reply), "macro rcpt rejected")
	must(mt.rcptto(conn, rcpt), "rcptto rejected")
end

local function sm_message(conn, name, mid)
	must(mt.data(conn), "data")
	must(mt.header(conn, "Message-ID", mid), "header")
	must(mt.header(conn, "Subject", name), "header")
	must(mt.eoh(conn), "eoh")
	body(conn)
	return finish(conn, name)
end

local function scenarios()
	-- 1. A provisional "i" before MAIL, the real one at MAIL; then a
	--    second transaction with its own queue ID and a temporary
	--    rejection.
	local c = sm_open("client.example.org", "192.0.2.20", "40001",
	    "7AQB0000000000")
	sm_helo(c, "client.example.org", { "i", "7AQB0000000000" })
	must(mt.macro(c, SMFIC_MAIL, "i", "7AQB0001000001",
	    "{mail_addr}", "a@example.org"), "macro mail")
	must(mt.mailfrom(c, "<a@example.org>"), "mailfrom")
	sm_accepted(c, "7AQB0001000001", "<b@example.com>")
	sm_message(c, "provisional", "<shape-1@example.org>")

	must(mt.macro(c, SMFIC_MAIL, "i", "7AQB0002000002",
	    "{mail_addr}", "a@example.org"), "macro mail 2")
	must(mt.mailfrom(c, "<a@example.org>"), "mailfrom 2")
	sm_accepted(c, "7AQB0002000002", "<c@example.com>")
	sm_rejected(c, "7AQB0002000002", "<d@example.com>", "4.5.3",
	    "452 4.5.3 Too many recipients")
	sm_message(c, "second", "<shape-2@example.org>")
	must(mt.disconnect(c), "disconnect")

	-- 2. The last recipient rejected: at end-of-message {rcpt_mailer}
	--    still reads "error"; the accepted recipient must not.
	c = sm_open("client2.example.org", "192.0.2.21", "40002", nil)
	sm_helo(c, "client2.example.org", nil)
	must(mt.macro(c, SMFIC_MAIL, "i", "7AQB0003000003"), "macro mail")
	must(mt.mailfrom(c, "<e@example.org>"), "mailfrom")
	sm_accepted(c, "7AQB0003000003", "<ok@example.com>")
	sm_rejected(c, "7AQB0003000003", "<nobody@local.example>", "5.1.1",
	    "550 5.1.1 User unknown")
	sm_message(c, "last-rejected", "<shape-3@example.org>")
	must(mt.disconnect(c), "disconnect")

	-- 3. TLS facts only at MAIL (the HELO stage sent before STARTTLS),
	--    empty certificate macros, AUTH at MAIL.
	c = sm_open("client3.example.org", "192.0.2.22", "40003", nil)
	sm_helo(c, "client3.example.org", nil)
	must(mt.macro(c, SMFIC_MAIL, "i", "7AQB0004000004",
	    "{auth_type}", "LOGIN", "{auth_authen}", "bob",
	    "{mail_addr}", "bob@example.org",
	    "{tls_version}", "TLSv1.2", "{cipher}",
	    "ECDHE-RSA-AES256-GCM-SHA384", "{cipher_bits}", "256",
	    "{cert_subject}", "", "{cert_issuer}", ""), "macro mail")
	must(mt.mailfrom(c, "<bob@example.org>"), "mailfrom")
	sm_accepted(c, "7AQB0004000004", "<f@example.com>")
	sm_message(c, "tls-at-mail", "<shape-4@example.org>")
	must(mt.disconnect(c), "disconnect")
end

local okay, err = pcall(scenarios)
if not okay then
	mt.echo("CHECK fail sendmail-shapes.lua raised: " .. tostring(err))
end
