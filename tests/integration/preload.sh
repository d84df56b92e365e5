#!/usr/bin/env bash
# What the launcher hands the program: LD_PRELOAD with the absolute path of
# libustack.so (still loaded after the program changes directory, and in its
# children), the configuration, and an owner-only control socket. The same
# after `cmake --install` into another prefix. The stack's heap is
# tcmalloc's while the program's malloc stays libc's, and libustack.so
# exports only the libc names it interposes.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
C=$TOPO_CLIENT
args=(--if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1)
lib=$(readlink -f "$USTACK_BUILD/lib/libustack.so")

run_ustack "$C" "${args[@]}" -- sh -c 'echo "$LD_PRELOAD"'
expect_eq "LD_PRELOAD is libustack.so's absolute path" "$lib" "$RUN_OUT"
LD_PRELOAD=libc.so.6 run_ustack "$C" "${args[@]}" -- sh -c 'echo "$LD_PRELOAD"'
expect_eq "an existing LD_PRELOAD is kept after ours" "$lib libc.so.6" "$RUN_OUT"

# After cd, in a grandchild: the library is mapped into the process.
run_ustack "$C" "${args[@]}" -- sh -c 'cd / && sh -c "grep -c libustack.so /proc/\$\$/maps"'
expect_match "loaded after cd, in a child's child" "^[1-9][0-9]*$" "$RUN_OUT"

run_ustack "$C" "${args[@]}" -- sh -c 'stat -c "%F %a %U" "$USTACK_CTL"; stat -c "%a" "$(dirname "$USTACK_CTL")"'
expect_eq "USTACK_CTL: a socket, mode 600, ours, in a 700 directory" \
  "socket 600 root 700" "$(tr '\n' ' ' <<<"$RUN_OUT" | sed 's/ $//')"
ctl=$(ip netns exec "$C" "$USTACK" "${args[@]}" -- sh -c 'echo "$USTACK_CTL"')
expect_eq "the control socket and its directory are removed at exit" "gone" \
  "$([ -e "$ctl" ] || [ -e "$(dirname "$ctl")" ] || echo gone)"

# cmake --install keeps the layout: PREFIX/bin/ustack finds PREFIX/lib/libustack.so.
if cmake --install "$USTACK_BUILD" --prefix "$T/prefix" >/dev/null; then
  USTACK=$T/prefix/bin/ustack run_ustack "$C" "${args[@]}" -- sh -c 'echo "$LD_PRELOAD"'
  expect_eq "installed launcher preloads the installed library" "$T/prefix/lib/libustack.so" "$RUN_OUT"
else
  fail "cmake --install"
fi

# The heap split, seen from inside a preloaded program (python3 + dladdr):
# the program's malloc is libc's, tc_malloc is tcmalloc's. Without us,
# there is no tc_malloc at all.
probe='
import ctypes
class Info(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]
g = ctypes.CDLL(None)
g.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(Info)]
for name in ("malloc", "free", "tc_malloc"):
    try:
        fn = getattr(g, name)
    except AttributeError:
        print(name, "none"); continue
    i = Info()
    g.dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(i))
    print(name, i.fname.decode().rsplit("/", 1)[-1])
'
if objdump -p "$lib" | grep -q 'NEEDED.*libtcmalloc_minimal'; then
  run_ustack "$C" "${args[@]}" -- python3 -c "$probe"
  expect_match "program's malloc is libc's" "^malloc libc\.so\.6$" "$RUN_OUT"
  expect_match "program's free is libc's" "^free libc\.so\.6$" "$RUN_OUT"
  expect_match "the stack's tc_malloc is tcmalloc's" "^tc_malloc libtcmalloc_minimal\.so" "$RUN_OUT"
  expect_match "without libustack.so there is no tc_malloc" "^tc_malloc none$" "$(python3 -c "$probe")"
else
  fail "libustack.so does not link libtcmalloc_minimal"
fi

# Exports: exactly the names listed in interpose/exports.map, nothing else.
allowed=$(sed 's:/\*.*\*/::' "$TL_SRC/interpose/exports.map" | tr -d '\n' |
  sed -n 's/.*global:\(.*\)local:.*/\1/p' | tr ';' '\n' | tr -d ' \t' | grep -v '^$')
leaked=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -vxF -f <(echo "$allowed") || true)
expect_eq "libustack.so exports only interposed libc names" "" "$leaked"
expect_eq "nm -D --defined-only runs" 0 "$(nm -D --defined-only "$lib" >/dev/null; echo $?)"
finish
