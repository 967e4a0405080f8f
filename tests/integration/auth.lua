-- auth.lua - one message per line of the cases file (-D cases=FILE):
--   NAME CLIENT_IP HELO MAILFROM [MESSAGE_FILE]
-- MAILFROM "-" is the null sender; MESSAGE_FILE (optional) is a whole
-- message (headers, empty line, body; CRLF or LF) to send instead of the
-- default one.  Prints "ID NAME <tracking id>", "AR NAME <value>" and
-- "RSPF NAME <value>" for the headers the milter added.

dofile(lib)

local function split(line)
	local t = {}
	for w in string.gmatch(line, "%S+") do
		t[#t + 1] = w
	end
	return t
end

local function send_file(c, path)
	local f = assert(io.open(path, "rb"))
	local data = f:read("*a")
	f:close()
	data = string.gsub(data, "\r\n", "\n")
	local head, bodytext = string.match(data, "^(.-)\n\n(.*)$")
	if head == nil then
		head, bodytext = data, ""
	end
	-- unfold into header fields, keeping the folding inside values
	local fields = {}
	for line in string.gmatch(head .. "\n", "(.-)\n") do
		if string.match(line, "^[ \t]") and #fields > 0 then
			fields[#fields] = fields[#fields] .. "\r\n" .. line
		else
			fields[#fields + 1] = line
		end
	end
	for _, fld in ipairs(fields) do
		local name, value = string.match(fld, "^([^:]+):[ \t]?(.*)$")
		if name ~= nil then
			must(mt.header(c, name, value), "header " .. name)
		end
	end
	must(mt.eoh(c), "eoh")
	bodytext = string.gsub(bodytext, "\n", "\r\n")
	if #bodytext > 0 then
		must(mt.bodystring(c, bodytext), "body")
	end
end

local function one(t)
	local name, ip, helo, from, file = t[1], t[2], t[3], t[4], t[5]
	local c = mt.connect(sock, 40, 0.25)
	if c == nil then
		error("cannot connect to " .. sock)
	end
	must(mt.negotiate(c, nil, nil, nil), "negotiate")
	must(mt.conninfo(c, "client.example", ip), "conninfo")
	if not mt.test_option(c, SMFIP_NOHELO) then
		must(mt.helo(c, helo), "helo")
	end
	if from == "-" then
		from = ""
	end
	must(mt.mailfrom(c, "<" .. from .. ">"), "mailfrom")
	must(mt.rcptto(c, "<rcpt@example.net>"), "rcptto")
	if file ~= nil then
		send_file(c, file)
	else
		must(mt.header(c, "Subject", "auth " .. name), "header")
		must(mt.eoh(c), "eoh")
		must(mt.bodystring(c, "test\r\n"), "body")
	end
	must(mt.eom(c), "eom")
	check(mt.getreply(c) == SMFIR_CONTINUE or mt.getreply(c) == SMFIR_ACCEPT,
	    name .. ": accepted")
	local id = added(c, "X-Mailtrail-ID", 0)
	mt.echo("ID " .. name .. " " .. tostring(id))
	local ar = added(c, "Authentication-Results", 0)
	if ar ~= nil then
		mt.echo("AR " .. name .. " " .. string.gsub(ar, "[\r\n]+", " "))
	end
	local rs = added(c, "Received-SPF", 0)
	if rs ~= nil then
		mt.echo("RSPF " .. name .. " " .. string.gsub(rs, "[\r\n]+", " "))
	end
	must(mt.disconnect(c), "disconnect")
end

local ok, err = pcall(function()
	for line in io.lines(cases) do
		if not string.match(line, "^%s*#") and string.match(line, "%S") then
			one(split(line))
		end
	end
end)
if not ok then
	mt.echo("CHECK fail script error: " .. tostring(err))
end
