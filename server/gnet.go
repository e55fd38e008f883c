package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

// The event-loop mode (--io gnet): connections are served by gnet's event
// loops (one per core) instead of one goroutine each. A command runs on its
// loop, so a slow store call (an fsync under --sync always) holds up the
// other connections of that loop: use it with --sync interval or none.
type gnetServer struct {
	gnet.BuiltinEventEngine
	s    *server
	eng  gnet.Engine
	lim  limits
	boot chan struct{}
}

func (g *gnetServer) OnBoot(eng gnet.Engine) gnet.Action {
	g.eng = eng
	close(g.boot)
	return gnet.None
}

func (g *gnetServer) OnOpen(conn gnet.Conn) ([]byte, gnet.Action) {
	s := g.s
	s.connsTotal.Add(1)
	c := &client{
		s: s, conn: conn, id: s.nextID.Add(1), addr: conn.RemoteAddr().String(), laddr: conn.LocalAddr().String(),
		created: time.Now(), authed: s.cfg.requirepass == "",
	}
	s.mu.Lock()
	if s.draining || len(s.clients) >= s.cfg.maxClients {
		s.mu.Unlock()
		s.rejected.Add(1)
		s.m.rejected.Inc()
		return []byte("-ERR max number of clients reached\r\n"), gnet.Close
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	s.m.connections.Inc()
	s.m.connectionsTotal.Inc()
	c.out.proto = 2
	c.resp.Store(2)
	c.getBuf = make([]byte, 4096)
	c.rd = newReader(nil, g.lim)
	c.last.Store(time.Now().UnixNano())
	conn.SetContext(c)
	return nil, gnet.None
}

func (g *gnetServer) OnClose(conn gnet.Conn, _ error) gnet.Action {
	c, ok := conn.Context().(*client)
	if !ok {
		return gnet.None
	}
	s := g.s
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	s.m.connections.Dec()
	if c.pend != nil {
		s.release(c.pend)
	}
	return gnet.None
}

// OnTraffic runs every complete command received, then writes all their
// replies at once (pipelined SETs and increments are batched as in the
// goroutine mode).
func (g *gnetServer) OnTraffic(conn gnet.Conn) gnet.Action {
	c := conn.Context().(*client)
	c.last.Store(time.Now().UnixNano())
	data, _ := conn.Next(-1)
	c.rd.feed(data)
	action := gnet.None
	for !c.quit {
		args, err := c.rd.parse()
		if errors.Is(err, errNeedMore) {
			break
		}
		if err != nil {
			var pe protoError
			if errors.As(err, &pe) {
				g.s.m.protocolErrors.Inc()
				g.s.log.Info("protocol error, closing connection", "remote", c.addr, "err", pe.Error())
				c.commitPending()
				c.commitIncrs()
				c.out.err("ERR " + pe.Error())
			}
			action = gnet.Close
			break
		}
		if len(args) == 0 {
			continue
		}
		g.s.exec(c, args)
	}
	c.commitPending()
	c.commitIncrs()
	if len(c.out.b) > 0 {
		_, _ = conn.Write(c.out.b)
		if cap(c.out.b) > 1<<20 {
			c.out.b = nil
		} else {
			c.out.b = c.out.b[:0]
		}
	}
	if c.quit {
		action = gnet.Close
	}
	return action
}

// OnTick closes clients idle longer than --timeout.
func (g *gnetServer) OnTick() (time.Duration, gnet.Action) {
	if g.s.cfg.idleTimeout <= 0 {
		return time.Hour, gnet.None
	}
	cutoff := time.Now().Add(-g.s.cfg.idleTimeout).UnixNano()
	g.s.mu.Lock()
	for c := range g.s.clients {
		if c.last.Load() < cutoff {
			_ = c.conn.Close()
		}
	}
	g.s.mu.Unlock()
	return time.Second, gnet.None
}

// serveGnet runs the event loops until stop is called; ready is closed once
// listening.
func (s *server) serveGnet(addr string, ready chan struct{}) (func(), <-chan error) {
	g := &gnetServer{s: s, boot: ready, lim: limits{
		maxBulk: s.cfg.maxBulkBytes, maxArgs: 1024 * 1024, maxRequest: s.cfg.maxRequestBytes,
	}}
	done := make(chan error, 1)
	go func() {
		done <- gnet.Run(g, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithTicker(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithReusePort(false),
			gnet.WithLogger(slogAdapter{s.log}), gnet.WithLogLevel(logging.WarnLevel))
	}()
	stop := func() {
		s.mu.Lock()
		s.draining = true
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.drainTimeout)
		defer cancel()
		_ = g.eng.Stop(ctx)
	}
	return stop, done
}

// slogAdapter sends gnet's own log lines to bitcaskd's structured log.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debugf(f string, v ...any) { a.l.Debug("gnet: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Infof(f string, v ...any)  { a.l.Debug("gnet: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)  { a.l.Warn("gnet: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Errorf(f string, v ...any) { a.l.Error("gnet: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Fatalf(f string, v ...any) {
	a.l.Error("gnet: " + fmt.Sprintf(f, v...))
	os.Exit(1)
}
