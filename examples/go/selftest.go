package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// selfTest sends a few requests to the server at base, prints each with its
// answer, and fails if any answer is not the expected one.
func selfTest(ctx context.Context, base string, out io.Writer) error {
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16) // 8 MiB
	bigSum := sha256.Sum256(big)
	past := strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10)
	future := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	steps := []struct {
		method, path string
		body         []byte
		want         int
		wantBody     string // "" means don't check
	}{
		{"POST", "/set?key=hello", []byte("world"), 204, ""},
		{"GET", "/get?key=hello", nil, 200, "world"},
		{"GET", "/get?key=missing", nil, 404, ""},
		{"POST", "/set?key=session&expire=" + future, []byte("valid for an hour"), 204, ""},
		{"GET", "/get?key=session", nil, 200, "valid for an hour"},
		{"POST", "/set?key=old&expire=" + past, []byte("expired a minute ago"), 204, ""},
		{"GET", "/get?key=old", nil, 404, ""},
		{"POST", "/set?key=big", big, 204, ""},
		{"GET", "/get?key=big", nil, 200, ""},
		{"POST", "/delete?key=hello", nil, 204, ""},
		{"GET", "/get?key=hello", nil, 404, ""},
		{"GET", "/get", nil, 400, ""},
		{"POST", "/set?key=x&expire=tomorrow", []byte("v"), 400, ""},
		{"GET", "/set?key=x", nil, 405, ""},
		{"POST", "/merge", nil, 200, ""},
		{"GET", "/stats", nil, 200, ""},
	}
	client := &http.Client{Timeout: time.Minute}
	failed := 0
	for _, st := range steps {
		req, err := http.NewRequestWithContext(ctx, st.method, base+st.path, bytes.NewReader(st.body))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", st.method, st.path, err)
		}
		// Hash the body as it streams in; keep only its first bytes to show.
		h := sha256.New()
		var head bytes.Buffer
		n, err := io.Copy(io.MultiWriter(h, limitWriter{&head, 200}), resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", st.method, st.path, err)
		}
		ok := resp.StatusCode == st.want && (st.wantBody == "" || head.String() == st.wantBody)
		shown := strings.TrimSpace(head.String())
		if st.path == "/get?key=big" {
			same := bytes.Equal(h.Sum(nil), bigSum[:])
			ok = ok && n == int64(len(big)) && same
			shown = fmt.Sprintf("%d bytes, sha256 matches: %v", n, same)
		}
		if len(st.body) > 1000 {
			st.path += fmt.Sprintf(" (%d MiB body)", len(st.body)>>20)
		}
		mark := "ok"
		if !ok {
			mark = fmt.Sprintf("UNEXPECTED (want %d)", st.want)
			failed++
		}
		fmt.Fprintf(out, "%-4s %-50s -> %d %s  [%s]\n", st.method, st.path, resp.StatusCode, shown, mark)
	}
	if failed > 0 {
		return fmt.Errorf("selftest: %d of %d requests answered unexpectedly", failed, len(steps))
	}
	fmt.Fprintf(out, "selftest: %d requests, all answered as expected\n", len(steps))
	return nil
}

// limitWriter keeps the first n bytes written and drops the rest.
type limitWriter struct {
	b *bytes.Buffer
	n int
}

func (w limitWriter) Write(p []byte) (int, error) {
	if room := w.n - w.b.Len(); room > 0 {
		w.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
