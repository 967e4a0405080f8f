-- hostile.lua - hostile input through miltertest: 5,000 recipients, escape
-- sequences, CR/LF and 8-bit bytes inside values, a header as long as
-- miltertest can send (its buffer overflows at about 1 KB; the 1 MB header
-- is sent through a real Postfix in postfix.sh and in the unit tests).

dofile(lib)

local function scenarios()
	-- Hostile input: 5,000 recipients, CR/LF, escapes and 8-bit bytes
	-- inside values, a long header.
	local c = open("hostile.example.org", "192.0.2.13")
	must(mt.mailfrom(c, "<h\r\nx@example.org>", "X=\27[2J"), "mailfrom")
	-- Macros once: they persist for the following RCPTs.
	accepted_rcpt(c, "<r1@example.net>")
	for i = 2, 5000 do
		must(mt.rcptto(c, "<r" .. i .. "@example.net>"), "rcptto")
	end
	must(mt.header(c, "Subject", "\27]0;pwned\7 caf\195\169 \255\r\n\tend"),
	    "h")
	must(mt.header(c, "X-Big", string.rep("B", 900)), "h")
	body(c)
	finish(c, "hostile")
	must(mt.disconnect(c), "disconnect")

end

local ok, err = pcall(scenarios)
if not ok then
	mt.echo("CHECK fail script error: " .. tostring(err))
end
