package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// server is the HTTP API of bitcask-lite (see README.md), on libbitcask:
//
//	GET  /get?key=a                     200 value, 404 missing or expired
//	POST /set?key=b[&expire=<unix ms>]  204; the body is the value
//	POST /delete?key=c                  204
//	POST /merge                         200 stats JSON after the merge
//	GET  /stats                         200 stats JSON
type server struct {
	db       *bitcask.DB
	maxValue int64
	log      *log.Logger
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	// Method patterns: a wrong method gets 405 with an Allow header.
	mux.HandleFunc("GET /get", s.handleGet)
	mux.HandleFunc("POST /set", s.handleSet)
	mux.HandleFunc("POST /delete", s.handleDelete)
	mux.HandleFunc("POST /merge", s.handleMerge)
	mux.HandleFunc("GET /stats", s.handleStats)
	return mux
}

// badRequest is an error in the request itself (400).
type badRequest string

func (b badRequest) Error() string { return string(b) }

// statusOf maps an error to an HTTP status: the client's mistakes are 4xx,
// the store's failures 500.
func statusOf(err error) int {
	var br badRequest
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &br):
		return http.StatusBadRequest
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, bitcask.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, bitcask.ErrInvalidArgument):
		return http.StatusBadRequest // e.g. a key over 64 KiB
	case errors.Is(err, bitcask.ErrBusy):
		return http.StatusConflict // a merge is already running
	case errors.Is(err, bitcask.ErrClosed):
		return http.StatusServiceUnavailable // shutting down
	default:
		return http.StatusInternalServerError // I/O, corruption, internal
	}
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	msg := err.Error()
	var tooBig *http.MaxBytesError
	switch {
	case code == http.StatusNotFound:
		msg = "key not found"
	case errors.As(err, &tooBig):
		msg = fmt.Sprintf("value too large: the limit is %d bytes", tooBig.Limit)
	case code >= 500:
		s.log.Printf("%s %s: %v", r.Method, r.URL, err)
	}
	http.Error(w, msg, code)
}

// param returns the value of the query parameter name and whether it is
// there. A parameter given more than once is a bad request: which of its
// values was meant is not for the server to guess.
func param(q url.Values, name string) (string, bool, error) {
	vs, ok := q[name]
	if len(vs) > 1 {
		return "", true, badRequest(fmt.Sprintf("repeated %s parameter (given %d times, want once)", name, len(vs)))
	}
	if !ok {
		return "", false, nil
	}
	return vs[0], true, nil
}

// keyParam returns the request's key parameter, which must be present once
// and non-empty.
func keyParam(q url.Values) ([]byte, error) {
	k, ok, err := param(q, "key")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, badRequest("missing key parameter")
	case k == "":
		return nil, badRequest("empty key parameter")
	}
	return []byte(k), nil
}

func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("bad query string: " + err.Error())
	}
	return q, nil
}

// handleGet streams the value through the binding's reader: io.Copy uses its
// WriteTo, one 256 KiB buffer at a time, so a large value is never held in
// memory whole, let alone twice.
func (s *server) handleGet(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key, err := keyParam(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.db.OpenValue(key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer v.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(v.Size(), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if n, err := io.Copy(w, v); err != nil {
		// The status is sent: all we can do is cut the response short (the
		// client sees fewer bytes than Content-Length) and log.
		s.log.Printf("GET /get?key=%q: streaming stopped after %d of %d bytes: %v", key, n, v.Size(), err)
	}
}

func (s *server) handleSet(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key, err := keyParam(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var expire time.Time // zero: never
	e, ok, err := param(q, "expire")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ok {
		ms, err := strconv.ParseInt(e, 10, 64)
		if err != nil || ms <= 0 {
			s.fail(w, r, badRequest(fmt.Sprintf("expire must be a positive integer (unix milliseconds), got %q", e)))
			return
		}
		expire = time.UnixMilli(ms)
	}
	value, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if expire.IsZero() {
		err = s.db.Put(key, value)
	} else {
		// An expiry in the past stores a value that already reads as missing.
		err = s.db.PutExpiring(key, value, expire)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads the value, at most s.maxValue bytes, into one buffer of the
// announced size when the client sent a Content-Length.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.maxValue {
		return nil, &http.MaxBytesError{Limit: s.maxValue}
	}
	body := http.MaxBytesReader(w, r.Body, s.maxValue)
	if r.ContentLength < 0 {
		return io.ReadAll(body)
	}
	value := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, value); err != nil {
		return nil, badRequest("reading body: " + err.Error())
	}
	return value, nil
}

func (s *server) handleDelete(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key, err := keyParam(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.Delete(key); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleMerge(w http.ResponseWriter, r *http.Request) {
	if err := s.db.Merge(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.handleStats(w, r)
}

func (s *server) handleStats(w http.ResponseWriter, r *http.Request) {
	js, err := s.db.StatsJSON()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(js, '\n'))
}
