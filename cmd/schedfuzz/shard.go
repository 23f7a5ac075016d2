package main

import (
	"fmt"
	"os"

	"github.com/schedfuzz/schedfuzz/explore"
)

// shardFlag is -shard I/N: this invocation makes shard I of N of the
// session (explore.Shard), for CI jobs that split one session. Every
// shard needs the same session seed: -seed, or $GITHUB_RUN_ID (the same
// for every job of one workflow run).
type shardFlag struct {
	sh  explore.Shard
	set bool
}

func (f *shardFlag) String() string { return f.sh.String() }

func (f *shardFlag) Set(v string) error {
	sh, err := explore.ParseShard(v)
	if err != nil {
		return err
	}
	f.sh, f.set = sh, true
	return nil
}

// shardSeed gives a sharded session its seed: -seed, else $GITHUB_RUN_ID.
// A random seed would make the shards' runs unrelated, so without either
// it is a usage error.
func (f *runFlags) shardSeed() error {
	if !f.shard.set || f.seed != "" {
		return nil
	}
	id := os.Getenv("GITHUB_RUN_ID")
	if id == "" {
		return usageErr("-shard %s needs the session seed every shard shares: -seed N (or $GITHUB_RUN_ID, set in GitHub Actions)", f.shard.sh)
	}
	if _, err := parseUint(id); err != nil {
		return usageErr("-shard %s: $GITHUB_RUN_ID %q is not a number; give -seed N", f.shard.sh, id)
	}
	f.seed = id
	return nil
}

// shardNote describes the shard for the session's first line.
func (f *runFlags) shardNote() string {
	if !f.shard.set {
		return ""
	}
	if f.runs > 0 {
		return fmt.Sprintf(" (shard %s: %d of them)", f.shard.sh, f.shard.sh.Runs(f.runs))
	}
	return fmt.Sprintf(" (shard %s)", f.shard.sh)
}
