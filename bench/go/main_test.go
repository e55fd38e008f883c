package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as runReads' child process, as the
// benchmark program does.
func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		childMain(name)
		return
	}
	os.Exit(m.Run())
}

// TestQuickRun drives every store through every workload at a tiny size: each
// get's value is checked against its key, so a store adapter that loses or
// mixes up values fails here. No time is asserted.
func TestQuickRun(t *testing.T) {
	cfg, err := parseFlags([]string{"-n", "3000", "-runs", "2", "-sync-writes", "20", "-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res := newResults()
	for run := 0; run < cfg.runs; run++ {
		runReads(cfg, cfg.stores, run, res)
		runSync(cfg, cfg.stores, run, res)
	}
	for _, id := range []string{"readrandom_1g", "readrandom_2g", "fillsync_1w"} {
		for _, k := range kinds {
			if got := len(res.figures[id][k.name]); got != cfg.runs {
				t.Errorf("%s: %s has %d figures, want %d", id, k.name, got, cfg.runs)
			}
		}
	}
	if ratio, _ := res.vsBestPeer("readrandom_1g"); ratio <= 0 {
		t.Errorf("no ratio to the best peer")
	}
	if got := len(res.floorOf["libbitcask"]); got != cfg.runs {
		t.Errorf("libbitcask has %d disk-floor ratios, want %d", got, cfg.runs)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "0"},
		{"-threads", "1,x"},
		{"-only", "writes"},
		{"-stores", "leveldb"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
