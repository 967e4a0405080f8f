-- lib.lua - helpers shared by the miltertest scripts (basic.lua,
-- hostile.lua): checks printed as "CHECK ok|fail DESC" and scenario steps
-- shaped like what Postfix sends.  Loaded with dofile(lib).

-- The tracking header name (-D hdr=NAME to override).
HDR = hdr or "X-Mailtrail-ID"

-- A header value the milter added, without the leading space it carries
-- when SMFIP_HDR_LEADSPC is negotiated.
function added(conn, name, n)
	local v = mt.getheader(conn, name, n)
	if v == nil then
		return nil, nil
	end
	return (string.gsub(v, "^[ \t]+", "")), v
end

function check(cond, desc)
	if cond then
		mt.echo("CHECK ok " .. desc)
	else
		mt.echo("CHECK fail " .. desc)
	end
end

function must(err, what)
	if err ~= nil then
		error(what .. ": " .. tostring(err))
	end
end

-- A connection from ip (as the MTA reports it), negotiated with the
-- defaults a Postfix offers (rejected recipients included).
function open(host, ip)
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then
		error("cannot connect to " .. sock)
	end
	must(mt.negotiate(conn, nil, nil, nil), "negotiate")
	must(mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.test",
	    "{daemon_name}", "smtpd", "{client_ptr}", host,
	    "{client_name}", host, "{client_resolve}", "OK"), "macro connect")
	must(mt.conninfo(conn, host, ip), "conninfo")
	check(mt.getreply(conn) == SMFIR_CONTINUE, host .. ": connect continues")
	if not mt.test_option(conn, SMFIP_NOHELO) then
		must(mt.helo(conn, host), "helo")
	end
	check(mt.test_option(conn, SMFIP_RCPT_REJ),
	    host .. ": negotiates rejected recipients (SMFIP_RCPT_REJ)")
	return conn
end

function accepted_rcpt(conn, rcpt)
	must(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp",
	    "{rcpt_host}", "relay.example.test", "{rcpt_addr}",
	    string.sub(rcpt, 2, -2)), "macro rcpt")
	must(mt.rcptto(conn, rcpt), "rcptto")
end

-- Postfix's shape for a recipient it rejected: code in {rcpt_host}, the
-- text after the address in {rcpt_addr}.
function rejected_rcpt(conn, rcpt, status, text)
	must(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
	    "{rcpt_host}", status, "{rcpt_addr}", text), "macro rcpt rejected")
	must(mt.rcptto(conn, rcpt), "rcptto rejected")
end

-- End of message: check the reply and our header, return its value.
function finish(conn, name)
	must(mt.eom(conn), "eom")
	check(mt.getreply(conn) == SMFIR_CONTINUE or
	    mt.getreply(conn) == SMFIR_ACCEPT, name .. ": message accepted")
	local id, raw = added(conn, HDR, 0)
	check(id ~= nil and string.len(id) == 26,
	    name .. ": tracking header added (" .. tostring(id) .. ")")
	check(mt.eom_check(conn, MT_HDRINSERT, HDR, raw, 0),
	    name .. ": tracking header inserted at the top (index 0)")
	mt.echo("ID " .. name .. " " .. tostring(id))
	return id
end

function body(conn)
	must(mt.bodystring(conn, "Hello,\r\nthis is a test.\r\n"), "body")
end

