#!/usr/bin/env python3
"""IPv6 sockets on a host whose IPv6 is off (issue 10, item 2): one line per
call, errno names; app_ipv6_v6only.sh runs it on the kernel and on ustack
and the transcripts must be the same."""
import errno, socket

def E(f):
    try:
        f()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def sock(kind=socket.SOCK_STREAM, v6only=None, family=socket.AF_INET6):
    s = socket.socket(family, kind)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    return s

P = 7777
v4 = sock(family=socket.AF_INET)
v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
v4.bind(('0.0.0.0', P))
v4.listen()
s = sock(v6only=1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
print('V6ONLY bind [::]:p beside 0.0.0.0:p', E(lambda: s.bind(('::', P))))
print('  listen', E(lambda: s.listen()), 'getsockname', s.getsockname()[:2])
print('  V6ONLY read back', s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
print('dual-stack bind [::]:p beside both', E(lambda: sock().bind(('::', P))))
print('V6ONLY bind [::]:p again', E(lambda: sock(v6only=1).bind(('::', P))))
print('V6ONLY bind to a v4-mapped address', E(lambda: sock(v6only=1).bind(('::ffff:198.18.0.10', 0))))
print('V6ONLY connect to a v4-mapped address', E(lambda: sock(v6only=1).connect(('::ffff:198.18.0.1', 80))))
print('connect to [::1]', E(lambda: sock().connect(('::1', 80))))
print('V6ONLY connect to [::1]', E(lambda: sock(v6only=1).connect(('::1', 80))))
print('connect to [2001:db8::1]', E(lambda: sock().connect(('2001:db8::1', 80))))
print('bind [::1]', E(lambda: sock().bind(('::1', 0))))
print('bind [2001:db8::1]', E(lambda: sock().bind(('2001:db8::1', 0))))
a = sock(v6only=1)
print('V6ONLY bind [::]:q first', E(lambda: a.bind(('::', P + 1))), E(lambda: a.listen()))
print('  then 0.0.0.0:q', E(lambda: sock(family=socket.AF_INET).bind(('0.0.0.0', P + 1))))
c = sock(v6only=1)
print('V6ONLY listen without bind', E(lambda: c.listen()), c.getsockname()[0], c.getsockname()[1] > 0)
d = sock()
print('dual-stack bind [::]:r', E(lambda: d.bind(('::', P + 2))), E(lambda: d.listen()))
print('  then 0.0.0.0:r', E(lambda: sock(family=socket.AF_INET).bind(('0.0.0.0', P + 2))))
u4 = sock(socket.SOCK_DGRAM, family=socket.AF_INET)
u4.bind(('0.0.0.0', P + 3))
print('UDP V6ONLY bind [::]:u beside 0.0.0.0:u', E(lambda: sock(socket.SOCK_DGRAM, 1).bind(('::', P + 3))))
print('UDP dual-stack bind [::]:u beside 0.0.0.0:u', E(lambda: sock(socket.SOCK_DGRAM).bind(('::', P + 3))))
print('default V6ONLY', sock().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
w = sock()
w.bind(('::', 0))
print('V6ONLY set after bind', E(lambda: w.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)))
wu = sock(socket.SOCK_DGRAM)
wu.bind(('::', 0))
print('UDP V6ONLY set after bind', E(lambda: wu.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)))
