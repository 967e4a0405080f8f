-- cli.lua - messages shaped for the mailtrail command's tests (cli.sh):
-- a reused queue ID, a Message-ID sent twice, a sender in mixed case, an
-- IPv6 client, Sendmail- and Postfix-shaped rejected recipients, and a
-- Subject and From full of terminal escape sequences.
--
-- Run as miltertest -D sock=... -D lib=.../lib.lua -s cli.lua.  Prints
-- "CHECK ok|fail ..." and "ID <name> <tracking id>" lines (lib.lua).

dofile(lib)

local function message(name, host, ip, from, qid, rcpts, headers)
	local c = open(host, ip)
	if qid ~= nil then
		must(mt.macro(c, SMFIC_MAIL, "i", qid), "macro mail")
	end
	must(mt.mailfrom(c, from), "mailfrom")
	for _, r in ipairs(rcpts) do
		if r.reject == nil then
			accepted_rcpt(c, r.addr)
		else
			rejected_rcpt(c, r.addr, r.status, r.reject)
		end
	end
	for _, h in ipairs(headers) do
		must(mt.header(c, h[1], h[2]), "header " .. h[1])
	end
	must(mt.eoh(c), "eoh")
	body(c)
	local id = finish(c, name)
	must(mt.disconnect(c), "disconnect")
	return id
end

local function scenarios()
	-- 1. A short queue ID that Postfix reuses: two messages, a second
	-- apart, from different senders.
	message("reuse-old", "old.example.net", "192.0.2.30",
	    "<first-user@example.net>", "4QREUSED01",
	    { { addr = "<x@example.com>" } },
	    { { "Message-ID", "<reuse-old@example.net>" },
	      { "Subject", "older message" } })
	mt.sleep(1.1)
	message("reuse-new", "new.example.net", "192.0.2.31",
	    "<second-user@example.net>", "4QREUSED01",
	    { { addr = "<y@example.com>" } },
	    { { "Message-ID", "<reuse-new@example.net>" },
	      { "Subject", "newer message" } })

	-- 2. The same Message-ID twice (a client that resent it).
	message("dup-1", "dup.example.org", "192.0.2.32",
	    "<Carol.Sender@Example.COM>", "4QDUP00001",
	    { { addr = "<dave@example.net>" },
	      { addr = "<nobody@example.net>", status = "5.1.1",
		reject = "550 5.1.1 <nobody@example.net>... User unknown" } },
	    { { "Message-ID", "<dup@example.org>" },
	      { "Subject", "Quarterly REPORT" } })
	message("dup-2", "dup.example.org", "192.0.2.32",
	    "<carol.sender@example.com>", "4QDUP00002",
	    { { addr = "<dave@example.net>" } },
	    { { "Message-ID", "<dup@example.org>" },
	      { "Subject", "Quarterly REPORT (resent)" } })

	-- 3. An IPv6 client.
	message("ipv6", "v6.example.org", "2001:db8::25",
	    "<six@example.org>", "4QSIX00001",
	    { { addr = "<v6@example.net>" } },
	    { { "Message-ID", "<six@example.org>" },
	      { "Subject", "over IPv6" } })

	-- 4. Escape sequences in the Subject and From: clear the screen,
	-- set the window title, colours, a bell, 8-bit and CR/LF.
	message("escape", "escape.example.org", "192.0.2.33",
	    "<esc@example.org>", "4QESC00001",
	    { { addr = "<victim@example.net>" } },
	    { { "Message-ID", "<escape@example.org>" },
	      { "From", "\27[2J\27[31mAdmin\27[0m <esc@example.org>" },
	      { "Subject", "\27]0;owned\7\27[2J\27[1;31mURGENT\27[0m caf\195\169 \255" } })
end

local ok, err = pcall(scenarios)
if not ok then
	mt.echo("CHECK fail script error: " .. tostring(err))
end
