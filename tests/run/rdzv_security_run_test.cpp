// The rendezvous service under attack in a live run: from inside the run,
// a process dials the launcher without the key, with a wrong key and with
// a replayed Hello, connects to its node's rendezvous socket as another
// uid, and sends garbage, an oversized line and more replies than it
// reads. Each is refused or cut off and logged (under -q too), nothing it
// sent reaches the store, and the run goes on to a clean end.
#include <catch2/catch.hpp>

#include "tests/run/run_util.hpp"
#include "tests/skip.hpp"

namespace {

using namespace runtest;

// argv: rendezvous socket, the daemon's pid, "nobody" when it may run a
// client as nobody. Prints one "attack NAME: RESULT" line each.
const char* kAttacks = R"PY(
import json, os, socket, struct, subprocess, sys
sock_path, daemon_pid, as_nobody = sys.argv[1], sys.argv[2], sys.argv[3] == "nobody"
argv = open("/proc/%s/cmdline" % daemon_pid, "rb").read().split(b"\0")
addr = argv[argv.index(b"--connect") + 1].decode()
host, port = addr.rsplit(":", 1)

def report(name, result):
    print("attack %s: %s" % (name, result), flush=True)

def frame(kind, payload):
    body = bytes([kind]) + json.dumps(payload).encode()
    return struct.pack(">I", len(body)) + body

def until_closed(s):
    s.settimeout(20)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    except OSError:
        return data

def dial():
    return socket.create_connection((host, int(port)), timeout=20)

# 1. The launcher, without the key: garbage.
s = dial(); s.sendall(b"GET / HTTP/1.0\r\n\r\n")
report("no key", "closed" if until_closed(s) == b"" else "answered")
# 2. A wrong key: a well-formed Hello, then a MAC that is not the run's.
nonce = os.urandom(32).hex()
hello = frame(1, {"version": 1, "node": "intruder", "nonce": nonce})
s = dial(); s.sendall(hello)
s.settimeout(20)
got = s.recv(4096)
s.sendall(frame(3, {"mac": os.urandom(32).hex()}))
report("wrong key", "challenged, then closed" if got and until_closed(s) == b"" else "?")
# 3. That Hello replayed: refused before any challenge.
s = dial(); s.sendall(hello)
report("replayed hello", "closed unanswered" if until_closed(s) == b"" else "answered")

def rdzv(lines, read=True):
    s = socket.socket(socket.AF_UNIX); s.connect(sock_path)
    try:
        s.sendall(b"".join(lines))
    except OSError:
        pass
    return until_closed(s) if read else s

# 4. Another uid on the node's socket, with its directory opened to it.
if as_nobody:
    d = os.path.dirname(sock_path)
    os.chmod(d, 0o755); os.chmod(sock_path, 0o777)
    code = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
            "s.sendall(b'{\"id\":1,\"op\":\"hello\",\"version\":1,\"name\":\"\"}\\n"
            "{\"id\":2,\"op\":\"put\",\"key\":\"evil\",\"value\":\"uid\"}\\n')\n"
            "s.settimeout(20)\nprint(len(s.recv(4096)))\n")
    r = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", code, sock_path],
                       capture_output=True, text=True, timeout=60)
    os.chmod(d, 0o700)
    report("other uid", "closed" if r.stdout.strip() == "0" or "Error" in r.stderr else r.stdout)
hello_line = b'{"id":1,"op":"hello","version":1,"name":""}\n'
evil = b'{"id":2,"op":"put","key":"evil","value":"x"}\n'
# 5. Garbage first.
got = rdzv([b"\x00\xff not json\n", evil])
report("garbage", "closed after bad_request" if b"bad_request" in got and b"version" not in got else got)
# 6. A line over the bound.
got = rdzv([hello_line, b'{"id":2,"op":"put","key":"evil","value":"' + b"x" * (2 << 20) + b'"}\n'])
report("oversized", "closed after too_large" if b"too_large" in got else got[:200])
# 7. Replies never read: a 1 MiB value, asked for again and again.
big = json.dumps({"id": 2, "op": "put", "key": "flood", "value": "f" * (1 << 20)}).encode() + b"\n"
gets = [b'{"id":%d,"op":"get","key":"flood"}\n' % i for i in range(3, 40)]
s = rdzv([hello_line, big] + gets, read=False)
import time
time.sleep(3)
got = until_closed(s)
report("deaf", "cut off" if len(got) < 39 * (1 << 20) else "served all %d bytes" % len(got))
)PY";

const char* kScript = R"SH(#!/bin/sh
J="$JOBSET_BIN"
if [ "$RANK" = 0 ]; then
  /usr/bin/python3 "$ATTACKS" "$JOBSET_RDZV" "$PPID" "$AS_NOBODY" || echo "attacks failed"
fi
"$J" rdzv put "k$RANK" "v$RANK" || echo "put failed"
"$J" rdzv barrier --timeout 60 || echo "barrier failed"
echo "rank $RANK got $("$J" rdzv get "k$(( (RANK + 1) % WORLD_SIZE ))" --wait 10)"
"$J" rdzv get evil >/dev/null 2>&1 && echo "rank $RANK sees evil"
exit 0
)SH";

}  // namespace

TEST_CASE(
    "rdzv security run: no key, a wrong key, a replayed Hello, another uid, garbage, an "
    "oversized line and a client that does not read are refused or cut off and logged under "
    "-q; nothing reaches the store; the run ends 0",
    "[rdzv run][security]") {
  if (access("/usr/bin/python3", X_OK) != 0)
    JOBSET_SKIP("needs /usr/bin/python3 (Debian package python3) for the attacking client");
  bool nobody = geteuid() == 0 && access("/usr/sbin/runuser", X_OK) == 0;
  if (!nobody)
    WARN("not root or no runuser (util-linux): the other-uid client is left out of this run");
  Scratch s;
  s.write("attacks.py", kAttacks);
  s.write("rdzv.sh", kScript);
  chmod(s.path("rdzv.sh").c_str(), 0755);
  setenv("JOBSET_BIN", jobset_path().c_str(), 1);
  setenv("ATTACKS", s.path("attacks.py").c_str(), 1);
  setenv("AS_NOBODY", nobody ? "nobody" : "no", 1);
  Launch r(s, {"run", "-q", "--simulate-nodes", "2", "-x", "JOBSET_BIN", "-x", "ATTACKS", "-x",
               "AS_NOBODY", "-n", "4", s.path("rdzv.sh")});
  REQUIRE(r.wait(120) == 0);
  INFO(r.report() << "\nstdout:\n" << r.out());
  std::string out = r.out(), err = r.err();
  CHECK(out.find("attack no key: closed") != std::string::npos);
  CHECK(out.find("attack wrong key: challenged, then closed") != std::string::npos);
  CHECK(out.find("attack replayed hello: closed unanswered") != std::string::npos);
  CHECK(out.find("attack garbage: closed after bad_request") != std::string::npos);
  CHECK(out.find("attack oversized: closed after too_large") != std::string::npos);
  CHECK(out.find("attack deaf: cut off") != std::string::npos);
  CHECK_THAT(err, Catch::Contains("refused a connection") && Catch::Contains("protocol error"));
  CHECK_THAT(err, Catch::Contains("'intruder': the daemon did not prove the run's key"));
  CHECK_THAT(err, Catch::Contains("replayed handshake (node 'intruder'"));
  CHECK_THAT(err, Catch::Contains("closed a rendezvous client: malformed first request"));
  CHECK_THAT(err, Catch::Contains("closed a rendezvous client: line too long"));
  CHECK_THAT(err, Catch::Contains("closed a rendezvous client: it does not read its replies"));
  if (nobody) {
    CHECK(out.find("attack other uid: closed") != std::string::npos);
    CHECK_THAT(err, Catch::Contains("refused a rendezvous client of uid 65534"));
  }
  // The run itself went on.
  for (int rank = 0; rank < 4; ++rank)
    CHECK(out.find("rank " + std::to_string(rank) + " got v" + std::to_string((rank + 1) % 4)) !=
          std::string::npos);
  CHECK(out.find("failed") == std::string::npos);
  CHECK(out.find("sees evil") == std::string::npos);
}
