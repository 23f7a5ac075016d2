// Package replay keeps failing runs so that they replay exactly: the seed
// file format (SeedFile, Encode, Parse), the trace follower that makes a
// run take its recorded decisions and explains where it left them
// (Follower, DivergenceError), and the corpus directory of seed files
// grouped by failure signature (Store).
//
// # Seed file format
//
// A seed file is UTF-8 text, one item per line, meant to be read and
// diffed by people. The first line is exactly
//
//	schedfuzz seed v1
//
// and every other line is "key: value", a blank line, or a comment
// starting with "#". Keys (in the order Encode writes them):
//
//	tool: schedfuzz 0.2            the writer's name and version
//	target: "/tmp/lost_update"     the program as typed (Go-quoted)
//	sha256: 1525cae8...            SHA-256 of the program file (64 hex digits)
//	arg: "-n"                      argv[1:], one line each (Go-quoted)
//	seed: 0xbeeb8da1658eec67       the run's seed (any Go integer syntax)
//	run: 17                        the run's index in its session
//	strategy: random               how decisions were made ("random", "pct:3")
//	cpus: 4                        the CPU count the guest saw
//	faults: on                     syscall results were decisions (-faults)
//	max-steps: 3000                the run's -max-steps (absent: none)
//	epoch: 1767744000              the guest's realtime clock at the start
//	                               (Unix seconds; absent: sched.DefaultEpoch)
//	lone-after: 64                 function points stop no thread alone this
//	                               long (sched.Config.LoneAfter; absent: 0)
//	hermetic: yes                  the run had a sandbox (no: none; absent: none)
//	net: host                      ... that kept the host's network
//	stdin: "/src/in.txt"           the guest's standard input (absent: /dev/null)
//	stdin-sha256: 9f86d0...        its SHA-256
//	expect-exit: 0,3               statuses that meant success (if not just 0)
//	failure: "assert"              -failure: output the failure had to match
//	ignore: "ECONNRESET"           -ignore: output that made a failure not count
//	outcome: exit 1                how the run ended
//	signature: exit 1 @t1:write    the failure's signature (explore.Signature)
//	digest: 3f0a...                Digest of the decision trace
//	points: sync                   the scheduling-point set (-points), if any
//	point: pthread_mutex_lock 0x7ffff7e0a0f0   one per point: spec, then
//	                               its resolved addresses or "unresolved"
//	spin: "/tmp/prog" 0x401136     a spin site (file, link-time address)
//	dir: "/src/app"                the working directory, if recorded
//	env: "HOME=/root"              the environment, one variable a line
//	env-redacted: GITHUB_TOKEN     a variable whose value was not recorded
//	outside: written "/home/x"     a file the run changed outside its sandbox
//	behavior: truncated            more behaviour than a seed keeps (rare)
//	syscalls: t1 48 9f3a12bc...    thread 1's call hash at its point 48 (Behavior)
//	result: t0 81 openat 3         a world call's result (Behavior)
//	decisions: 24                  then 24 decision lines, then "end"
//	pick 0 of 0,1 @t0:clone3
//	wake 1 of 0,1 @futex:2
//	end
//
// A decision line is "KIND CHOICE of OPTIONS @AT": KIND is a sched.Kind
// by name (sched.ParseKind: "pick" chooses the next thread among virtual
// thread ids, "wake" a futex waiter among FIFO indices, "fault" a
// syscall's result among sched's Fault codes; kinds sched adds
// later parse with no change here), CHOICE one of OPTIONS, OPTIONS a
// strictly increasing comma-separated list of non-negative integers (a
// pick's list may start with -1, sched.IdleOption: let virtual time pass
// to the next deadline instead of running a thread, as chaos does), AT
// the scheduling point ("t1:futex": thread 1 at a futex call). Blank and
// comment lines inside the block are skipped, not counted.
//
// Digest is the hex SHA-256 of the decision block's lines exactly as
// Encode writes them, each followed by "\n", without the "decisions:" and
// "end" lines: the executed sequence of scheduling points, options and
// choices. Two runs took the same schedule if and only if their digests
// are equal; `sed '1,/^decisions:/d;/^end$/,$d' F | sha256sum` recomputes
// it. Parse does not check it (people edit decisions on purpose); replay
// tools may note a mismatch.
//
// # Compatibility
//
//   - The version in the first line changes only when an old reader would
//     misread a new file: a changed meaning of an existing key or of the
//     decision syntax. Any other first line is an error.
//   - Within v1 writers may add keys: readers ignore keys they do not know,
//     so an older schedfuzz replays a newer seed file as far as it
//     understands it. Keys may come in any order, also after "end".
//   - A key that is not repeated (all but arg, env, env-redacted, point,
//     spin, outside, syscalls, result) may appear once. target, sha256, seed and decisions are required.
//   - A decision kind unknown to the reading schedfuzz is an error: it
//     cannot follow a choice it does not make.
//   - Lines may end in CRLF. Values are printable text: control characters
//     other than tab are an error (Go-quoted values may escape them).
//   - Limits: 64 MiB per file, 1 MiB per line, 4194304 decisions.
//
// Parse reports every problem as one line, naming the line where there is
// one ("seed file line 7: bad seed \"0xzz\""); it never panics, whatever the
// input (FuzzParse checks this, and that Encode(Parse(x)) parses back to
// the same SeedFile).
//
// # Environment
//
// The guest runs with the caller's environment, and the seed file records
// it so a replay sees the same one, in the same order. Variables whose
// names look secret (containing TOKEN, SECRET, PASSWORD, PASSWD, KEY,
// CREDENTIAL or AUTH, in any case) are recorded by name only, as
// env-redacted; a replay takes their values from its own environment and
// says so when one is missing. A seed file with no env lines (written
// before schedfuzz 0.2) replays with the replaying environment.
//
// # Corpus
//
// Seed files are written atomically (atomic.go): unnamed (O_TMPFILE) and
// linked into place, or, where the filesystem cannot, as a locked
// ".tmp-*" file renamed into place, which CleanTemp removes once a
// killed writer has left it. Paths follows symbolic links.
//
// A Store is a directory with one subdirectory per failure signature,
// named by a filesystem-safe slug of the signature and a short hash of it
// ("exit-1-t1-write-3f0a9c21/"); each holds seed files named by target and
// content hash. Identical seed files are stored once; files are written
// to a temporary name and renamed, so a reader never sees half a file.
// List also loads seed files lying directly in the directory (the layout
// before Store). A failure is Known if the corpus already holds a seed with
// its signature, else New.
//
// # Point sets
//
// Scheduling points at functions, source lines and memory accesses
// (-points, -yield-at, -watch) are part of a run's identity: the points
// and point keys record the set and what each point resolved to, and
// CheckPoints reports a replay with a different set as a divergence that
// says what differs.
package replay
