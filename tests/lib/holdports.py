# holdports.py SPEC... - hold ports, as a machine's own services would.
#
# SPEC is tcp:PORT (a listening socket) or udp:PORT (a bound datagram
# socket), held on 0.0.0.0 and on :: (IPv6 only, when the machine has
# IPv6).  Prints one line per socket, "held tcp:25 0.0.0.0" or "taken tcp:25
# 0.0.0.0 (reason)" (someone else holds it: just as good for a test that
# wants the port taken), then "ready", and keeps the sockets until a signal
# ends it (the caller kills it by its recorded PID).  Accepts nothing: a
# connection waits in the backlog and is dropped at exit.
import signal
import socket
import sys

held = []
for spec in sys.argv[1:]:
    proto, port = spec.split(':')
    port = int(port)
    for family, addr in ((socket.AF_INET, '0.0.0.0'),
                         (socket.AF_INET6, '::')):
        kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
        try:
            s = socket.socket(family, kind)
        except OSError as e:
            print('taken %s %s (%s)' % (spec, addr, e.strerror), flush=True)
            continue
        try:
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            if kind == socket.SOCK_STREAM:
                s.listen(8)
        except OSError as e:
            s.close()
            print('taken %s %s (%s)' % (spec, addr, e.strerror), flush=True)
            continue
        held.append(s)
        print('held %s %s' % (spec, addr), flush=True)
print('ready', flush=True)
while True:
    signal.pause()
