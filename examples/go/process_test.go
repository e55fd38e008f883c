package main

// Tests of the built program run as a process of its own: its exit status,
// what it prints, and how it answers signals.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
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

// startProcess starts the built program on a free loopback port with the
// store in dir and returns it with its base URL and its stderr so far. The
// process is killed at the end of the test if it is still running.
func startProcess(t *testing.T, dir string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	cmd := exec.Command(buildServer(t), "-addr", "127.0.0.1:0", "-dir", dir)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server's stderr:\n%s", logs.String())
		}
	})
	// "bitcask-server: <date> <time> serving <dir> on http://<addr> (libbitcask <version>)"
	serving := regexp.MustCompile(` on (http://[^ ]+) \(libbitcask `)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := serving.FindStringSubmatch(logs.String()); m != nil {
			return cmd, m[1], &logs
		}
	}
	t.Fatalf("the server did not say where it serves:\n%s", logs.String())
	return nil, "", nil
}

// SIGTERM and SIGINT sent to the process shut it down gracefully: it stops
// accepting connections, a request in flight finishes, the store is closed
// (its lock is free, the data is there) and the exit status is 0.
func TestProcessSignalShutdown(t *testing.T) {
	for _, c := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGTERM", syscall.SIGTERM}, {"SIGINT", syscall.SIGINT}} {
		sig := c.sig
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			cmd, base, logs := startProcess(t, dir)
			expect(t, do(t, "POST", base+"/set?key=before", []byte("signal")), 204, "")

			// A request in flight: its handler is reading the body (the
			// server has answered "100 Continue") when the signal arrives.
			body, bodyw := io.Pipe()
			req, err := http.NewRequest("POST", base+"/set?key=inflight", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len("drained"))
			req.Header.Set("Expect", "100-continue")
			continued := make(chan struct{})
			req = req.WithContext(httptrace.WithClientTrace(req.Context(),
				&httptrace.ClientTrace{Got100Continue: func() { close(continued) }}))
			client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
			type result struct {
				code int
				err  error
			}
			answered := make(chan result, 1)
			go func() {
				resp, err := client.Do(req)
				if err != nil {
					answered <- result{err: err}
					return
				}
				resp.Body.Close()
				answered <- result{code: resp.StatusCode}
			}()
			select {
			case <-continued:
			case r := <-answered:
				t.Fatalf("answered before the body was sent: %d %v", r.code, r.err)
			case <-time.After(30 * time.Second):
				t.Fatal("no 100 Continue")
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The listener closes, while the request is still in flight.
			addr := strings.TrimPrefix(base, "http://")
			deadline := time.Now().Add(30 * time.Second)
			for {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatalf("still accepting connections after %v", sig)
				}
				time.Sleep(10 * time.Millisecond)
			}
			bodyw.Write([]byte("drained"))
			bodyw.Close()
			if r := <-answered; r.err != nil || r.code != http.StatusNoContent {
				t.Fatalf("the request in flight: %d %v, want 204", r.code, r.err)
			}

			if err := cmd.Wait(); err != nil {
				t.Fatalf("after %v: %v", sig, err)
			}
			if l := logs.String(); !strings.Contains(l, "shutting down") || !strings.Contains(l, "store closed") {
				t.Errorf("stderr:\n%s", l)
			}
			db, err := bitcask.Open(dir)
			if err != nil {
				t.Fatalf("the store does not reopen after %v: %v", sig, err)
			}
			defer db.Close()
			for k, want := range map[string]string{"before": "signal", "inflight": "drained"} {
				if v, err := db.Get([]byte(k)); err != nil || string(v) != want {
					t.Errorf("after %v, %s = %q, %v; want %q", sig, k, v, err, want)
				}
			}
		})
	}
}
