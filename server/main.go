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
	var syncMode, logLevel, logFormat, ioMode string
	fs.StringVar(&cfg.dir, "dir", "", "store directory (required; created if missing)")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:6380", "address to serve the Redis protocol on (localhost unless told otherwise)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "address for the Prometheus /metrics endpoint (off if empty), e.g. 127.0.0.1:9380")
	fs.StringVar(&cfg.requirepass, "requirepass", "", "password clients must give with AUTH or HELLO AUTH (also read from $BITCASKD_REQUIREPASS)")
	fs.StringVar(&syncMode, "sync", "interval", "durability: none, always (fsync before each reply), interval (like appendfsync everysec)")
	fs.DurationVar(&cfg.syncInterval, "sync-interval", time.Second, "period of --sync interval")
	fs.IntVar(&cfg.maxClients, "maxclients", 10000, "most simultaneous client connections")
	fs.DurationVar(&cfg.idleTimeout, "timeout", 0, "close a client idle this long (0: never), like Redis's timeout")
	fs.Int64Var(&cfg.maxBulkBytes, "proto-max-bulk-len", bitcask.MaxValueLen, "longest argument (key or value) accepted, bytes")
	fs.Int64Var(&cfg.maxRequestBytes, "client-query-buffer-limit", 1<<30, "largest single request, bytes")
	fs.DurationVar(&cfg.drainTimeout, "drain-timeout", 5*time.Second, "on SIGTERM/SIGINT/SHUTDOWN, how long to let connections finish")
	fs.StringVar(&ioMode, "io", "goroutine", "connection handling: goroutine (one per connection) or gnet (event loops; use with --sync interval or none)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "text or json")
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
	if cfg.maxBulkBytes < 1 || cfg.maxBulkBytes > bitcask.MaxValueLen {
		fmt.Fprintf(os.Stderr, "bitcaskd: --proto-max-bulk-len must be 1..%d\n", bitcask.MaxValueLen)
		return 2
	}
	if cfg.maxClients < 1 || cfg.maxRequestBytes < 1024 {
		fmt.Fprintln(os.Stderr, "bitcaskd: --maxclients must be >= 1 and --client-query-buffer-limit >= 1024")
		return 2
	}

	db, err := bitcask.Open(cfg.dir, bitcask.WithSync(mode), bitcask.WithSyncInterval(cfg.syncInterval))
	if err != nil {
		log.Error("cannot open the store", "dir", cfg.dir, "err", err)
		return 1
	}
	m := newMetrics()
	m.watchStore(db)
	s := newServer(cfg, db, log, m)

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
	var metricsSrv *http.Server
	if cfg.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.handler())
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			log.Error("cannot listen for metrics", "addr", cfg.metricsAddr, "err", err)
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
