// Command bitcaskd serves a libbitcask store over the Redis protocol (RESP2
// and RESP3), for string keys. See docs/SERVER.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	fs := flag.NewFlagSet("bitcaskd", flag.ContinueOnError)
	var cfg config
	var syncMode, logLevel, logFormat, ioMode, keydir string
	fs.StringVar(&cfg.dir, "dir", "", "store directory (required; created if missing)")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:6380", "address to serve the Redis protocol on (localhost unless told otherwise)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "address for the Prometheus /metrics endpoint (off if empty), e.g. 127.0.0.1:9380")
	fs.StringVar(&cfg.requirepass, "requirepass", "", "password clients must give with AUTH or HELLO AUTH (also read from $BITCASKD_REQUIREPASS)")
	fs.StringVar(&syncMode, "sync", "interval", "durability: none, always (fsync before each reply), interval (like appendfsync everysec)")
	fs.DurationVar(&cfg.syncInterval, "sync-interval", time.Second, "period of --sync interval")
	fs.StringVar(&keydir, "keydir", "", "the store's in-RAM index: keys (about 27 bytes + the key per key) or hashed (under 16 bytes per key); default $BITCASK_KEYDIR, else keys")
	fs.IntVar(&cfg.maxClients, "maxclients", 10000, "most simultaneous client connections")
	fs.DurationVar(&cfg.idleTimeout, "timeout", 0, "close a client idle this long (0: never), like Redis's timeout")
	fs.Int64Var(&cfg.maxBulkBytes, "proto-max-bulk-len", bitcask.MaxValueLen, "longest argument (key or value) accepted, bytes")
	fs.Int64Var(&cfg.maxRequestBytes, "client-query-buffer-limit", 1<<30, "largest single request, bytes")
	fs.DurationVar(&cfg.drainTimeout, "drain-timeout", 5*time.Second, "on SIGTERM/SIGINT/SHUTDOWN, how long to let connections finish")
	fs.StringVar(&ioMode, "io", "goroutine", "connection handling: goroutine (one per connection) or gnet (event loops; use with --sync interval or none)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "text or json")
	rc := &cfg.raft
	fs.BoolVar(&rc.enabled, "raft", false, "replicate with Raft (see docs/CLUSTER.md); --dir then holds the state machine, rebuilt at each start")
	fs.StringVar(&rc.nodeID, "node-id", "", "--raft: this node's unique ID")
	fs.StringVar(&rc.raftAddr, "raft-addr", "", "--raft: HOST:PORT for Raft traffic, reachable by the other nodes")
	fs.StringVar(&rc.raftDir, "raft-dir", "", "--raft: directory of the Raft log and snapshots (default DIR/raft)")
	fs.StringVar(&rc.join, "join", "", "--raft: RESP address of a cluster node to ask to add this node")
	fs.BoolVar(&rc.bootstrap, "bootstrap", false, "--raft: start a new cluster with this node alone (once, on the first node)")
	fs.BoolVar(&rc.staleReads, "stale-reads", false, "--raft: serve reads from this node's state, even on a follower (not linearizable)")
	fs.StringVar(&rc.logStore, "raft-log-store", "bitcask", "--raft: the Raft log and stable store: bitcask (server/raftstore) or boltdb (hashicorp/raft-boltdb v2)")
	fs.Uint64Var(&rc.snapshotThreshold, "raft-snapshot-threshold", 8192, "--raft: log entries since the last snapshot that trigger a snapshot")
	fs.DurationVar(&rc.snapshotInterval, "raft-snapshot-interval", 2*time.Minute, "--raft: how often to check the snapshot threshold")
	fs.Uint64Var(&rc.trailingLogs, "raft-trailing-logs", 10240, "--raft: log entries kept after a snapshot, for slow followers")
	fs.DurationVar(&rc.applyTimeout, "raft-apply-timeout", 10*time.Second, "--raft: how long a write or read barrier may wait for the log")
	fs.DurationVar(&rc.heartbeat, "raft-heartbeat", time.Second, "--raft: heartbeat and election timeout (leader lease: half of it)")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if cfg.requirepass == "" {
		cfg.requirepass = os.Getenv("BITCASKD_REQUIREPASS")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "bitcaskd: --log-level:", err)
		return 2
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	var log *slog.Logger
	if logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	} else {
		log = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	}
	if cfg.dir == "" {
		fmt.Fprintln(os.Stderr, "bitcaskd: --dir is required")
		fs.Usage()
		return 2
	}
	mode, err := bitcask.ParseSyncMode(syncMode)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bitcaskd: --sync:", err)
		return 2
	}
	cfg.sync = mode
	var storeOpts []bitcask.Option
	if keydir != "" {
		km, err := bitcask.ParseKeydirMode(keydir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bitcaskd: --keydir:", err)
			return 2
		}
		storeOpts = append(storeOpts, bitcask.WithKeydir(km))
	}
	if cfg.maxBulkBytes < 1 || cfg.maxBulkBytes > bitcask.MaxValueLen {
		fmt.Fprintf(os.Stderr, "bitcaskd: --proto-max-bulk-len must be 1..%d\n", bitcask.MaxValueLen)
		return 2
	}
	if cfg.maxClients < 1 || cfg.maxRequestBytes < 1024 {
		fmt.Fprintln(os.Stderr, "bitcaskd: --maxclients must be >= 1 and --client-query-buffer-limit >= 1024")
		return 2
	}

	if rc.enabled {
		if msg := checkRaftFlags(&cfg, ioMode); msg != "" {
			fmt.Fprintln(os.Stderr, "bitcaskd:", msg)
			return 2
		}
		registerRaftCommands()
	}
	var db *bitcask.DB
	var sm *fsm
	if rc.enabled {
		if err = os.MkdirAll(cfg.dir, 0o755); err == nil {
			sm, db, err = openFSM(cfg.dir, storeOpts...)
		}
	} else {
		opts := append([]bitcask.Option{bitcask.WithSync(mode), bitcask.WithSyncInterval(cfg.syncInterval)}, storeOpts...)
		db, err = bitcask.Open(cfg.dir, opts...)
	}
	if err != nil {
		log.Error("cannot open the store", "dir", cfg.dir, "err", err)
		return 1
	}
	m := newMetrics()
	s := newServer(cfg, db, log, m)
	m.watchStore(s.db)

	if ioMode != "goroutine" && ioMode != "gnet" {
		fmt.Fprintln(os.Stderr, "bitcaskd: --io must be goroutine or gnet")
		db.Close()
		return 2
	}
	if ioMode == "gnet" {
		return runGnet(s, cfg, db, log, m)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.addr, "err", err)
		db.Close()
		return 1
	}
	if cfg.requirepass == "" {
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
			log.Warn("serving on a non-loopback address without --requirepass: anyone who can reach it can read and write", "addr", ln.Addr().String())
		}
	}
	if rc.enabled {
		s.raft, err = startRaft(s, sm, *rc, ln.Addr().String())
		if err != nil {
			log.Error("cannot start raft", "err", err)
			ln.Close()
			db.Close()
			return 1
		}
		log.Info("raft started", "id", rc.nodeID, "raft_addr", rc.raftAddr, "raft_dir", rc.raftDir, "log_store", rc.logStore, "bootstrap", rc.bootstrap, "join", rc.join)
	}
	var metricsSrv *http.Server
	if cfg.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.handler())
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			log.Error("cannot listen for metrics", "addr", cfg.metricsAddr, "err", err)
			s.stopRaft()
			ln.Close()
			db.Close()
			return 1
		}
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = metricsSrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	st, _ := db.Stats()
	log.Info("bitcaskd ready", "addr", ln.Addr().String(), "dir", cfg.dir, "sync", mode.String(), "keys", st.LiveKeys, "libbitcask", bitcask.Version(), "auth", cfg.requirepass != "")

	served := make(chan error, 1)
	s.ln = ln
	go func() { served <- s.serve(ln) }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-sigs:
		log.Info("signal received, shutting down", "signal", sig.String())
	case <-s.shutdownReq:
		log.Info("SHUTDOWN command, shutting down")
	case err := <-served:
		if err != nil {
			log.Error("serve failed", "err", err)
		}
	}
	signal.Stop(sigs)
	s.drain()
	if metricsSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = metricsSrv.Shutdown(ctx)
		cancel()
	}
	code := 0
	if err := s.stopRaft(); err != nil {
		log.Error("raft shutdown failed", "err", err)
		code = 1
	}
	db = s.db() // a snapshot restore may have swapped it
	if err := db.Sync(); err != nil {
		log.Error("final sync failed", "err", err)
		code = 1
	}
	if err := db.Close(); err != nil && !errors.Is(err, bitcask.ErrClosed) {
		log.Error("close failed", "err", err)
		code = 1
	}
	log.Info("bitcaskd stopped", "code", code)
	return code
}

// runGnet is run's second half for --io gnet.
func runGnet(s *server, cfg config, db *bitcask.DB, log *slog.Logger, m *metrics) int {
	var metricsSrv *http.Server
	if cfg.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.handler())
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			log.Error("cannot listen for metrics", "addr", cfg.metricsAddr, "err", err)
			db.Close()
			return 1
		}
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = metricsSrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	ready := make(chan struct{})
	stop, done := s.serveGnet(cfg.addr, ready)
	select {
	case <-ready:
	case err := <-done:
		log.Error("cannot listen", "addr", cfg.addr, "err", err)
		db.Close()
		return 1
	}
	log.Info("bitcaskd ready", "addr", cfg.addr, "io", "gnet", "dir", cfg.dir, "sync", cfg.sync.String(), "libbitcask", bitcask.Version(), "auth", cfg.requirepass != "")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-sigs:
		log.Info("signal received, shutting down", "signal", sig.String())
	case <-s.shutdownReq:
		log.Info("SHUTDOWN command, shutting down")
	case err := <-done:
		log.Error("event loops stopped", "err", err)
	}
	signal.Stop(sigs)
	stop()
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	code := 0
	if err := db.Sync(); err != nil {
		log.Error("final sync failed", "err", err)
		code = 1
	}
	if err := db.Close(); err != nil && !errors.Is(err, bitcask.ErrClosed) {
		log.Error("close failed", "err", err)
		code = 1
	}
	log.Info("bitcaskd stopped", "code", code)
	return code
}

// checkRaftFlags validates the --raft flags and fills in defaults; it
// returns a message for a bad combination.
func checkRaftFlags(cfg *config, ioMode string) string {
	rc := &cfg.raft
	switch {
	case rc.nodeID == "":
		return "--raft needs --node-id"
	case rc.raftAddr == "":
		return "--raft needs --raft-addr HOST:PORT"
	case ioMode != "goroutine":
		return "--raft works with --io goroutine only"
	case rc.bootstrap && rc.join != "":
		return "--bootstrap and --join exclude each other"
	case rc.logStore != "bitcask" && rc.logStore != "boltdb":
		return fmt.Sprintf("--raft-log-store %q: want bitcask or boltdb", rc.logStore)
	case rc.heartbeat < 10*time.Millisecond:
		return "--raft-heartbeat must be at least 10ms"
	case rc.applyTimeout <= 0:
		return "--raft-apply-timeout must be positive"
	}
	if _, _, err := net.SplitHostPort(rc.raftAddr); err != nil {
		return fmt.Sprintf("--raft-addr %q: %v", rc.raftAddr, err)
	}
	if rc.raftDir == "" {
		rc.raftDir = filepath.Join(cfg.dir, "raft")
	}
	return ""
}

// stopRaft shuts the Raft node down, if there is one.
func (s *server) stopRaft() error {
	if s.raft == nil {
		return nil
	}
	n := s.raft
	s.raft = nil
	return n.shutdown()
}
