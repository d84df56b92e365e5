#!/usr/bin/env bash
# curl and wget over ustack (issue 4): a 100 MiB download byte-exact by
# name (resolved by the stack's DNS client), keep-alive across several URLs,
# a 404, a closed port refused at once, an unanswered address timing out
# after curl's own timeout, an unknown name.
source "$(dirname "$0")/app_env.bash"
app_web
app_dns

u curl -sS -o "$T/got" http://web.ustack.test/big
expect_eq "curl: exit 0" 0 "$RUN_STATUS"
expect_eq "curl: 100 MiB byte-exact (sha256)" "$(sha "$WEB/big")" "$(sha "$T/got")"

u wget -q -O "$T/got.wget" http://web.ustack.test/big
expect_eq "wget: exit 0" 0 "$RUN_STATUS"
expect_eq "wget: byte-exact (sha256)" "$(sha "$WEB/big")" "$(sha "$T/got.wget")"

u curl -sS -v http://web.ustack.test/small http://web.ustack.test/small http://web.ustack.test/small
expect_eq "keep-alive: exit 0" 0 "$RUN_STATUS"
expect_count "keep-alive: three bodies" 3 "^small file$" "$RUN_OUT"
expect_count "keep-alive: one connection made" 1 "Connected to web.ustack.test" "$RUN_ERR"
expect_count "keep-alive: reused twice" 2 "Re-using existing connection" "$RUN_ERR"

u curl -sS -o /dev/null -w '%{http_code}\n' http://web.ustack.test/nope
expect_eq "404 is a 404" 404 "$RUN_OUT"

start=$(date +%s%N)
u curl -sS http://198.18.0.1:81/
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "closed port: curl exit 7" 7 "$RUN_STATUS"
expect_match "closed port: Couldn't connect" "Couldn't connect to server" "$RUN_ERR"
if ((ms < 5000)); then pass "closed port: refused at once"; else fail "closed port took ${ms} ms"; fi

u curl -sS --connect-timeout 2 http://198.18.0.77/
expect_eq "no answer: curl exit 28 (timeout)" 28 "$RUN_STATUS"
expect_match "no answer: after curl's own timeout" "after 2[0-9]{3} ms" "$RUN_ERR"

u curl -sS http://nohost.ustack.invalid/
expect_eq "unknown name: curl exit 6" 6 "$RUN_STATUS"
expect_match "unknown name: Could not resolve host" "Could not resolve host" "$RUN_ERR"
finish
