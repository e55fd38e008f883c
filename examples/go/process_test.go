package main

// Tests of the built program run as a process of its own: its exit status,
// what it prints, and how it answers signals.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildServer builds the program with `go build`, once per test binary, and
// returns the executable's path.
func buildServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the program; skipped in -short mode")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "bitcask-server-test")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "bitcask-server")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// exitCode runs cmd and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("%s: %v", cmd, err)
	return -1
}

// A flag mistake exits with status 2 after the message and the usage, as
// with the flag package's ExitOnError, and the store directory is not
// created; -h exits 0.
func TestProcessFlagMistake(t *testing.T) {
	bin := buildServer(t)
	dir := filepath.Join(t.TempDir(), "store")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-dir", dir, "-sync", "sometimes")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	const want = "invalid value \"sometimes\" for flag -sync: want none, always or interval\nUsage of bitcask-server:\n"
	if !strings.HasPrefix(stderr.String(), want) || stdout.Len() > 0 {
		t.Errorf("stderr %q, stdout %q; want stderr to start with %q", stderr.String(), stdout.String(), want)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the store directory was touched: %v", err)
	}

	cmd = exec.Command(bin, "-h")
	stderr.Reset()
	cmd.Stderr = &stderr
	if code := exitCode(t, cmd); code != 0 || !strings.HasPrefix(stderr.String(), "Usage of bitcask-server:\n") {
		t.Errorf("-h: exit status %d, stderr %q", code, stderr.String())
	}
}

// An address in use: exit status 1 with the listener's error, and no store
// directory.
func TestProcessAddressInUse(t *testing.T) {
	bin := buildServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "store")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-addr", ln.Addr().String(), "-dir", dir)
	cmd.Stderr = &stderr
	if code := exitCode(t, cmd); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := "bitcask-server: listen tcp " + ln.Addr().String() + ": bind: address already in use\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the store directory was created: %v", err)
	}
}
