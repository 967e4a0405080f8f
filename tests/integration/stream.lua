-- stream.lua - send "count" messages (-D count=N, default 5), each on its
-- own connection from 192.0.2.20, and check each end-of-message reply
-- against "expect" (-D expect=continue|tempfail|any, default continue).
-- With -D sameconn=1 all messages share one connection.
-- Prints "REPLY msgN continue|tempfail|other" for every message and
-- "ID msgN <tracking id>" for each message that got one.

dofile(lib)

local n = tonumber(count or "5")
local want = expect or "continue"

local shared = nil

local function one(i)
	local c = shared
	if c == nil then
		c = open("stream.example.org", "192.0.2.20")
	end
	must(mt.mailfrom(c, "<stream@example.org>"), "mailfrom")
	accepted_rcpt(c, "<sink@example.net>")
	must(mt.header(c, "Message-ID", "<stream-" .. i .. "@example.org>"),
	    "header")
	must(mt.header(c, "Subject", "stream " .. i), "header")
	body(c)
	must(mt.eom(c), "eom")
	local r = mt.getreply(c)
	local name = "other"
	if r == SMFIR_CONTINUE or r == SMFIR_ACCEPT then
		name = "continue"
	elseif r == SMFIR_TEMPFAIL or r == SMFIR_REPLYCODE then
		name = "tempfail"
	end
	mt.echo("REPLY msg" .. i .. " " .. name)
	if want == "any" then
		check(name ~= "other", "msg" .. i .. ": a valid reply (" .. name .. ")")
	elseif want == "tempfail" then
		check(r == SMFIR_TEMPFAIL or r == SMFIR_REPLYCODE,
		    "msg" .. i .. ": tempfailed (" .. tostring(r) .. ")")
	else
		check(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT,
		    "msg" .. i .. ": accepted (" .. tostring(r) .. ")")
	end
	local id = added(c, HDR, 0)
	if id ~= nil then
		mt.echo("ID msg" .. i .. " " .. id)
	end
	if sameconn ~= nil then
		shared = c
	else
		must(mt.disconnect(c), "disconnect")
	end
end

local ok, err = pcall(function()
	for i = 1, n do
		one(i)
	end
	if shared ~= nil then
		must(mt.disconnect(shared), "disconnect")
	end
end)
if not ok then
	mt.echo("CHECK fail script error: " .. tostring(err))
end
