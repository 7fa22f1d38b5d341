#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration tests of the basic handlers through the real binary: starts
# `caddy-c run` on 127.0.0.1 with a free port and a Caddyfile using respond, redir,
# rewrite, uri, method, header, request_header, request_body, root, vars, error with
# handle_errors, abort, handle, handle_path, route, invoke and nested matchers, then
# checks status, headers and bodies with curl. $CADDYC names the binary (default
# bin/caddy-c). Ends with "N passed, N failed".
set -u
CADDYC=${CADDYC:-bin/caddy-c}
case $CADDYC in /*) ;; *) CADDYC="$PWD/$CADDYC" ;; esac

pass=0 fail=0
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
)
if [ -z "$port" ]; then
    echo "no free port"
    echo "0 passed, 1 failed"
    exit 1
fi

cat >"$tmp/Caddyfile" <<EOF
{
	admin off
}

&(named) {
	respond "named route {path}"
}

http://127.0.0.1:$port {
	handle /respond {
		respond "hi {method} {query.q}" 201
	}
	handle /json {
		respond \`{"ok": true}\`
	}
	handle /close {
		respond "bye" {
			close
		}
	}
	handle /status-ph {
		respond "teapot" {query.code}
	}
	handle /redir {
		redir * /target
	}
	handle /redir-perm {
		redir * /target?from={path} permanent
	}
	handle /redir-html {
		redir https://example.com{uri} html
	}
	handle /rw/* {
		rewrite * /new{path}?x=1
		respond "{uri} {orig_uri} {orig_path}"
	}
	handle /sp/* {
		uri strip_prefix /sp
		respond "{path}"
	}
	handle /ss/* {
		uri strip_suffix .html
		respond "{path}"
	}
	handle /ur/* {
		uri replace foo bar
		respond "{path}"
	}
	handle /re/* {
		uri path_regexp ^/re/([0-9]+)$ /num/\$1
		respond "{path}"
	}
	handle /q {
		uri query {
			+added 1
			-gone
			keep set
			old>new
		}
		respond "{query}"
	}
	handle /rwq/* {
		rewrite * /idx?p={path}&{query}
		respond "{uri}"
	}
	handle /only-status {
		respond 404
	}
	handle /m {
		method PATCH
		respond "{method} {orig_method}"
	}
	handle /h {
		header X-Set "v1"
		header +X-Add "a1"
		header -Server
		header >X-Deferred "late"
		header ?X-Default "dflt"
		respond "h"
	}
	handle /h-keep {
		header ?Content-Type "never/used"
		respond "k"
	}
	handle /h-block {
		header {
			X-Block a
			+X-Block b
			defer
		}
		respond "b"
	}
	handle /h-wild {
		header -X-Drop-*
		header X-Drop-One 1
		header X-Keep 1
		respond "w"
	}
	handle /h-rep {
		header X-Rep "abc123"
		route {
			header X-Rep "([0-9]+)" "<\$1>"
			respond "r"
		}
	}
	handle /rh {
		request_header X-In "injected"
		request_header -User-Agent
		respond "{header.X-In}|{header.User-Agent}|"
	}
	handle /rb {
		request_body {
			max_size 10
		}
		respond "ok"
	}
	handle /vars {
		root * /srv/www
		vars myvar "v-{method}"
		respond "{http.vars.root} {vars.myvar}"
	}
	handle /err {
		error "custom failure" 418
	}
	handle /err500 {
		error "plain"
	}
	handle /abort {
		abort
	}
	handle_path /hp/* {
		respond "hp {path}"
	}
	route /route {
		header X-Route 1
		respond "route"
	}
	handle /nest/* {
		@post method POST
		handle @post {
			respond "nested post"
		}
		handle /nest/a {
			respond "nested a"
		}
		handle {
			respond "nested fallback"
		}
	}
	handle /invoke {
		invoke named
	}
	handle_errors {
		respond "E {err.status_code} {err.message}"
	}
}

http://localhost:$port {
	handle /e404 {
		error 404
	}
	handle /e500 {
		error "hidden" 500
	}
	handle_errors 404 {
		respond "not here: {err.status_text}"
	}
}
EOF

"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/out.log" 2>"$tmp/err.log" &
pid=$!

base="http://127.0.0.1:$port"
up=0
for _ in $(seq 100); do
    if curl -s -o /dev/null --max-time 1 "$base/respond"; then
        up=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" -ne 1 ]; then
    echo "server did not start:" >&2
    tail -n 20 "$tmp/err.log" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# req [curl args...] URL: fills $code, $body and $hdrs (header block, CRLF removed)
req() {
    code=$(curl -s --max-time 5 -o "$tmp/body" -D "$tmp/hdrs" -w '%{http_code}' "$@")
    rc=$?
    body=$(cat "$tmp/body" 2>/dev/null)
    hdrs=$(tr -d '\r' <"$tmp/hdrs" 2>/dev/null)
}
# hdr NAME: the first value of a response header (case-insensitive), "" when absent
hdr() {
    printf '%s\n' "$hdrs" | awk -v n="$1" 'BEGIN { n = tolower(n) }
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
            v = substr($0, i + 1); sub(/^ +/, "", v); print v; exit } }'
}
hdr_count() {
    printf '%s\n' "$hdrs" | awk -v n="$1" 'BEGIN { n = tolower(n); c = 0 }
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) c++ }
        END { print c }'
}
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what" >&2
        echo "  status $code; body: ${body:0:300}" >&2
        echo "  headers: $(printf '%s' "$hdrs" | tr '\n' '|')" >&2
    fi
}
eq() { [ "$1" = "$2" ]; }
has() { [[ $1 == *"$2"* ]]; }

# ---- respond -----------------------------------------------------------------------
req "$base/respond?q=x"
check "respond: status" eq "$code" 201
check "respond: body with placeholders" eq "$body" "hi GET x"
check "respond: text content type" eq "$(hdr Content-Type)" "text/plain; charset=utf-8"
check "respond: Server header" eq "$(hdr Server)" "caddy-c"
req "$base/json"
check "respond json: status" eq "$code" 200
check "respond json: content type" eq "$(hdr Content-Type)" "application/json"
check "respond json: body" eq "$body" '{"ok": true}'
req "$base/close"
check "respond close: body" eq "$body" "bye"
check "respond close: Connection header" eq "$(hdr Connection)" "close"
req "$base/status-ph?code=418"
check "respond: status from a placeholder" eq "$code" 418

# ---- redir -------------------------------------------------------------------------
req "$base/redir"
check "redir: 302" eq "$code" 302
check "redir: Location" eq "$(hdr Location)" "/target"
check "redir: empty body" eq "$body" ""
req "$base/redir-perm"
check "redir permanent: 301" eq "$code" 301
check "redir permanent: Location placeholders" eq "$(hdr Location)" "/target?from=/redir-perm"
req "$base/redir-html?a=b"
check "redir html: 200" eq "$code" 200
check "redir html: no Location" eq "$(hdr Location)" ""
check "redir html: content type" eq "$(hdr Content-Type)" "text/html; charset=utf-8"
check "redir html: body names the target" has "$body" 'window.location.replace("https://example.com/redir-html?a=b")'

# ---- rewrite and uri ---------------------------------------------------------------
req "$base/rw/a%20b?y=2"
check "rewrite: uri and originals" eq "$body" "/new/rw/a%20b?x=1 /rw/a%20b?y=2 /rw/a b"
req "$base/sp/abc?k=v"
check "uri strip_prefix" eq "$body" "/abc"
req "$base/ss/page.html"
check "uri strip_suffix" eq "$body" "/ss/page"
req "$base/ur/foo/foo"
check "uri replace" eq "$body" "/ur/bar/bar"
req "$base/re/123"
check "uri path_regexp" eq "$body" "/num/123"
req "$base/re/abc"
check "uri path_regexp no match" eq "$body" "/re/abc"
req "$base/q?old=o&gone=1&keep=k&z=last"
check "uri query ops" eq "$body" "added=1&keep=set&new=o&z=last"
req "$base/m"
check "method" eq "$body" "PATCH GET"
req "$base/rwq/a/b?x=1"
check "rewrite: query from placeholders" eq "$body" "/idx?p=%2Frwq%2Fa%2Fb&x=1"
req "$base/only-status"
check "respond status only: 404" eq "$code" 404
check "respond status only: empty body" eq "$body" ""

# ---- header ------------------------------------------------------------------------
req "$base/h"
check "header set" eq "$(hdr X-Set)" "v1"
check "header add" eq "$(hdr X-Add)" "a1"
check "header -Server" eq "$(hdr Server)" ""
check "header defer" eq "$(hdr X-Deferred)" "late"
check "header ?default when absent" eq "$(hdr X-Default)" "dflt"
req "$base/h-keep"
check "header ?default keeps existing" eq "$(hdr Content-Type)" "text/plain; charset=utf-8"
req "$base/h-block"
# Caddy applies adds before sets, so the set wins over the add
check "header block with defer: set after add" eq "$(hdr_count X-Block)" 1
check "header block with defer: value" eq "$(hdr X-Block)" "a"
req "$base/h-wild"
check "header wildcard delete (deferred)" eq "$(hdr X-Drop-One)" ""
check "header other field kept" eq "$(hdr X-Keep)" "1"
req "$base/h-rep"
check "header regexp replace" eq "$(hdr X-Rep)" "abc<123>"
req -H "User-Agent: test-agent" "$base/rh"
check "request_header set and delete" eq "$body" "injected||"

# ---- request_body ------------------------------------------------------------------
req -X POST --data-binary "12345" "$base/rb"
check "request_body under the limit" eq "$code" 200
req -X POST --data-binary "0123456789abcdefghij" "$base/rb"
check "request_body over max_size: 413" eq "$code" 413
check "request_body 413 via handle_errors" eq "$body" "E 413 http: request body too large"

# ---- root, vars --------------------------------------------------------------------
req "$base/vars"
check "root and vars" eq "$body" "/srv/www v-GET"

# ---- error and handle_errors -------------------------------------------------------
req "$base/err"
check "error status" eq "$code" 418
check "handle_errors placeholders" eq "$body" "E 418 custom failure"
req "$base/err500"
check "error default 500" eq "$code" 500
check "error default message" eq "$body" "E 500 plain"

req -H "Host: localhost:$port" "$base/e404"
check "handle_errors 404: status" eq "$code" 404
check "handle_errors 404: body" eq "$body" "not here: Not Found"
req -H "Host: localhost:$port" "$base/e500"
check "unhandled error: bare status" eq "$code" 500
check "unhandled error: empty body" eq "$body" ""
check "unhandled error: Server header" eq "$(hdr Server)" "caddy-c"

# ---- abort -------------------------------------------------------------------------
req "$base/abort"
check "abort: empty reply (curl 52)" eq "$rc" 52

# ---- routing -----------------------------------------------------------------------
req "$base/hp/x/y"
check "handle_path strips the prefix" eq "$body" "hp /x/y"
req "$base/route"
check "route: body" eq "$body" "route"
check "route: header" eq "$(hdr X-Route)" "1"
req -X POST "$base/nest/b"
check "nested matcher: post" eq "$body" "nested post"
req -X POST "$base/nest/a"
check "nested handle: first matching handle wins (Caddy's order)" eq "$body" "nested post"
req "$base/nest/a"
check "nested handle: path" eq "$body" "nested a"
req "$base/nest/zzz"
check "nested handle: fallback" eq "$body" "nested fallback"
req "$base/invoke"
check "invoke named route" eq "$body" "named route /invoke"
req "$base/nothing/here"
check "unmatched: 200" eq "$code" 200
check "unmatched: empty body" eq "$body" ""
check "unmatched: Server header" eq "$(hdr Server)" "caddy-c"

kill -0 "$pid" 2>/dev/null
check "server still running" eq "$?" 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
