package main

import (
	"crypto/subtle"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// redisVersion is the Redis version bitcaskd reports: clients gate features
// (HELLO, CLIENT SETINFO...) on it.
const redisVersion = "7.4.0"

func cmdPing(c *client, args [][]byte) {
	switch len(args) {
	case 1:
		c.out.simple("PONG")
	case 2:
		c.out.bulk(args[1])
	default:
		c.out.err("ERR wrong number of arguments for 'ping' command")
	}
}

func cmdEcho(c *client, args [][]byte) { c.out.bulk(args[1]) }

func cmdQuit(c *client, _ [][]byte) {
	c.out.ok()
	c.quit = true
}

func cmdSelect(c *client, args [][]byte) {
	n, ok := parseInt64(args[1])
	if !ok {
		c.out.err(errNotInt)
		return
	}
	if n != 0 {
		c.out.err("ERR DB index is out of range")
		return
	}
	c.out.ok()
}

// checkAuth compares in constant time; user must be "default" (the only one).
func (s *server) checkAuth(user, pass []byte) bool {
	want := s.cfg.requirepass
	okUser := user == nil || string(user) == "default"
	return okUser && subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

const errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."

func cmdAuth(c *client, args [][]byte) {
	if len(args) > 3 {
		c.out.err(errSyntax)
		return
	}
	if c.s.cfg.requirepass == "" {
		if len(args) == 2 {
			c.out.err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
		// AUTH default <anything> with no password configured: Redis's default user is nopass.
		if string(args[1]) == "default" {
			c.out.ok()
		} else {
			c.out.err(errWrongPass)
		}
		return
	}
	var user, pass []byte
	if len(args) == 3 {
		user, pass = args[1], args[2]
	} else {
		pass = args[1]
	}
	if !c.s.checkAuth(user, pass) {
		c.s.m.authFailures.Inc()
		c.s.log.Warn("authentication failed", "remote", c.addr)
		c.out.err(errWrongPass)
		return
	}
	c.authed = true
	c.out.ok()
}

// cmdHello: HELLO [protover [AUTH username password] [SETNAME clientname]].
func cmdHello(c *client, args [][]byte) {
	proto := c.out.proto
	if len(args) >= 2 {
		n, ok := parseInt64(args[1])
		if !ok {
			c.out.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if n != 2 && n != 3 {
			c.out.err("NOPROTO unsupported protocol version")
			return
		}
		proto = int(n)
	}
	var setName []byte
	authed := c.authed
	for j := 2; j < len(args); j++ {
		switch upper(args[j]) {
		case "AUTH":
			if j+2 >= len(args) {
				c.out.err("ERR Syntax error in HELLO option 'auth'")
				return
			}
			if c.s.cfg.requirepass != "" || string(args[j+1]) != "default" {
				if !c.s.checkAuth(args[j+1], args[j+2]) {
					c.s.m.authFailures.Inc()
					c.out.err(errWrongPass)
					return
				}
			}
			authed = true
			j += 2
		case "SETNAME":
			if j+1 >= len(args) {
				c.out.err("ERR Syntax error in HELLO option 'setname'")
				return
			}
			setName = args[j+1]
			if !validClientName(setName) {
				c.out.err("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			j++
		default:
			c.out.err("ERR Syntax error in HELLO option '" + string(args[j]) + "'")
			return
		}
	}
	if !authed {
		c.out.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.authed = true
	if setName != nil {
		n := string(setName)
		c.name.Store(&n)
	}
	c.out.proto = proto
	c.resp.Store(int32(proto))
	c.out.mapHeader(7)
	c.out.bulkStr("server")
	c.out.bulkStr("redis")
	c.out.bulkStr("version")
	c.out.bulkStr(redisVersion)
	c.out.bulkStr("proto")
	c.out.int(int64(proto))
	c.out.bulkStr("id")
	c.out.int(c.id)
	c.out.bulkStr("mode")
	c.out.bulkStr("standalone")
	c.out.bulkStr("role")
	c.out.bulkStr("master")
	c.out.bulkStr("modules")
	c.out.array(0)
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func loadStr(p interface{ Load() *string }) string {
	if s := p.Load(); s != nil {
		return *s
	}
	return ""
}

func (c *client) infoLine() string {
	now := time.Now()
	cmd := loadStr(&c.lastCmd)
	if cmd == "" {
		cmd = "NULL"
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s",
		c.id, c.addr, c.laddr, loadStr(&c.name), int(now.Sub(c.created).Seconds()), cmd, c.resp.Load(), loadStr(&c.libName), loadStr(&c.libVer))
}

func cmdClient(c *client, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	arity := func(n int) bool {
		if len(args) != n {
			c.out.err("ERR wrong number of arguments for 'client|" + sub + "' command")
			return false
		}
		return true
	}
	switch sub {
	case "setname":
		if !arity(3) {
			return
		}
		if !validClientName(args[2]) {
			c.out.err("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		n := string(args[2])
		c.name.Store(&n)
		c.out.ok()
	case "getname":
		if !arity(2) {
			return
		}
		if n := loadStr(&c.name); n != "" {
			c.out.bulkStr(n)
		} else {
			c.out.null()
		}
	case "setinfo":
		if !arity(4) {
			return
		}
		v := string(args[3])
		switch strings.ToLower(string(args[2])) {
		case "lib-name":
			c.libName.Store(&v)
		case "lib-ver":
			c.libVer.Store(&v)
		default:
			c.out.err("ERR Unrecognized option '" + string(args[2]) + "'")
			return
		}
		c.out.ok()
	case "id":
		if !arity(2) {
			return
		}
		c.out.int(c.id)
	case "info":
		if !arity(2) {
			return
		}
		c.out.verbatim(c.infoLine() + "\n")
	case "list":
		var b strings.Builder
		c.s.mu.Lock()
		for other := range c.s.clients {
			b.WriteString(other.infoLine())
			b.WriteByte('\n')
		}
		c.s.mu.Unlock()
		c.out.verbatim(b.String())
	case "no-evict", "no-touch", "reply":
		c.out.ok()
	case "help":
		c.out.strings([]string{"CLIENT <subcommand> [<arg> ...]. Subcommands are:", "GETNAME", "SETNAME <name>", "SETINFO <LIB-NAME|LIB-VER> <value>", "ID", "INFO", "LIST", "HELP"})
	default:
		c.out.err("ERR unknown subcommand '" + string(trunc(args[1])) + "'. Try CLIENT HELP.")
	}
}

func (s *server) syncNow() error {
	if err := s.db().Sync(); err != nil {
		return err
	}
	s.lastSave.Store(time.Now().Unix())
	return nil
}

func cmdSave(c *client, _ [][]byte) {
	if err := c.s.syncNow(); err != nil {
		c.fail(err)
		return
	}
	c.out.ok()
}

func cmdBgSave(c *client, args [][]byte) {
	go func() {
		if err := c.s.syncNow(); err != nil {
			c.s.log.Error("BGSAVE: sync failed", "err", err)
		}
	}()
	c.out.simple("Background saving started")
}

func cmdBgRewriteAOF(c *client, _ [][]byte) {
	s := c.s
	go func() {
		start := time.Now()
		if err := s.db().Merge(); err != nil {
			s.log.Error("BGREWRITEAOF: merge failed", "err", err)
			return
		}
		s.log.Info("merge done", "took", time.Since(start))
	}()
	c.out.simple("Background append only file rewriting started")
}

func cmdLastSave(c *client, _ [][]byte) { c.out.int(c.s.lastSave.Load()) }

func cmdTime(c *client, _ [][]byte) {
	now := time.Now()
	c.out.array(2)
	c.out.bulkStr(strconv.FormatInt(now.Unix(), 10))
	c.out.bulkStr(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

func cmdShutdown(c *client, args [][]byte) {
	for _, a := range args[1:] {
		switch upper(a) {
		case "NOSAVE", "SAVE", "NOW", "FORCE", "ABORT":
		default:
			c.out.err(errSyntax)
			return
		}
	}
	c.s.log.Info("SHUTDOWN requested", "remote", c.addr)
	c.s.requestShutdown()
	c.quit = true // Redis closes the connection without a reply
}

// configValues are what CONFIG GET answers (redis-benchmark asks for "save"
// and "appendonly"; other tools for maxmemory, databases...).
func (s *server) configValues() map[string]string {
	appendfsync := map[bitcask.SyncMode]string{bitcask.SyncNone: "no", bitcask.SyncAlways: "always", bitcask.SyncInterval: "everysec"}[s.cfg.sync]
	host, port := hostPort(s.cfg.addr)
	return map[string]string{
		"save":                      "",
		"appendonly":                "yes",
		"appendfsync":               appendfsync,
		"databases":                 "1",
		"maxclients":                strconv.Itoa(s.cfg.maxClients),
		"timeout":                   strconv.Itoa(int(s.cfg.idleTimeout.Seconds())),
		"maxmemory":                 "0",
		"maxmemory-policy":          "noeviction",
		"proto-max-bulk-len":        strconv.FormatInt(s.cfg.maxBulkBytes, 10),
		"client-query-buffer-limit": strconv.FormatInt(s.cfg.maxRequestBytes, 10),
		"bind":                      host,
		"port":                      strconv.Itoa(port),
		"dir":                       s.cfg.dir,
		"protected-mode":            "yes",
	}
}

func cmdConfig(c *client, args [][]byte) {
	switch strings.ToLower(string(args[1])) {
	case "get":
		if len(args) < 3 {
			c.out.err("ERR wrong number of arguments for 'config|get' command")
			return
		}
		vals := c.s.configValues()
		var keys []string
		for k := range vals {
			for _, p := range args[2:] {
				if globMatch([]byte(strings.ToLower(string(p))), []byte(k)) {
					keys = append(keys, k)
					break
				}
			}
		}
		sort.Strings(keys)
		c.out.mapHeader(len(keys))
		for _, k := range keys {
			c.out.bulkStr(k)
			c.out.bulkStr(vals[k])
		}
	case "set":
		c.out.err("ERR CONFIG SET is not supported by bitcaskd: restart with the flag instead")
	case "resetstat":
		c.out.ok()
	default:
		c.out.err("ERR unknown subcommand '" + string(trunc(args[1])) + "'. Try CONFIG HELP.")
	}
}

func cmdInfo(c *client, args [][]byte) {
	c.out.verbatim(c.s.info(args[1:]))
}

func (s *server) info(sections [][]byte) string {
	want := map[string]bool{}
	for _, a := range sections {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	sec := func(name string) bool {
		if !all && !want[strings.ToLower(name)] {
			return false
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + name + "\r\n")
		return true
	}
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	up := time.Since(s.started)
	if sec("Server") {
		_, port := hostPort(s.cfg.addr)
		kv("redis_version", redisVersion)
		kv("redis_mode", "standalone")
		kv("bitcaskd", "1")
		kv("libbitcask_version", bitcask.Version())
		kv("os", runtime.GOOS)
		kv("arch_bits", strconv.IntSize)
		kv("process_id", pid())
		kv("tcp_port", port)
		kv("uptime_in_seconds", int64(up.Seconds()))
		kv("uptime_in_days", int64(up.Hours()/24))
	}
	if sec("Clients") {
		kv("connected_clients", s.clientCount())
		kv("maxclients", s.cfg.maxClients)
		kv("blocked_clients", 0)
	}
	if sec("Persistence") {
		kv("loading", 0)
		kv("aof_enabled", 1)
		kv("rdb_last_save_time", s.lastSave.Load())
		kv("sync", s.cfg.sync.String())
	}
	if sec("Stats") {
		kv("total_connections_received", s.connsTotal.Load())
		kv("total_commands_processed", s.commandsDone.Load())
		kv("rejected_connections", s.rejected.Load())
		kv("keyspace_hits", s.hits.Load())
		kv("keyspace_misses", s.misses.Load())
	}
	st, err := s.db().Stats()
	if sec("Keyspace") && err == nil && st.LiveKeys > 0 {
		kv("db0", fmt.Sprintf("keys=%d,expires=0,avg_ttl=0", st.LiveKeys))
	}
	if sec("Bitcask") && err == nil {
		kv("live_keys", st.LiveKeys)
		kv("data_files", st.DataFiles)
		kv("total_bytes", st.TotalBytes)
		kv("dead_bytes", st.DeadBytes)
		kv("keydir_bytes", st.KeydirBytes)
		kv("keydir_mode", st.Keydir)
		kv("merges_completed", st.MergesCompleted)
		kv("needs_merge", boolInt(st.NeedsMerge))
		kv("damaged_ranges", st.DamagedRanges)
		kv("damaged_bytes", st.DamagedBytes)
		kv("dropped_batch_records", st.DroppedBatchRecords)
		kv("truncated_bytes", st.TruncatedBytes)
		kv("hint_fallbacks", st.HintFallbacks)
	}
	if s.raft != nil && sec("Replication") {
		s.raft.info(kv)
	}
	return b.String()
}

// commandInfo writes one COMMAND INFO entry: name, arity, flags, first key,
// last key, step, ACL categories, tips, key specs, subcommands.
func (c *client) commandInfo(cmd *command) {
	c.out.array(10)
	c.out.bulkStr(cmd.name)
	c.out.int(int64(cmd.arity))
	fl := cmd.flagNames()
	c.out.setHeader(len(fl))
	for _, f := range fl {
		c.out.simple(f)
	}
	c.out.int(int64(cmd.first))
	c.out.int(int64(cmd.last))
	c.out.int(int64(cmd.step))
	c.out.setHeader(0)
	c.out.setHeader(0)
	c.out.array(0)
	c.out.array(0)
}

func cmdCommand(c *client, args [][]byte) {
	if len(args) == 1 {
		c.out.array(len(commandList))
		for _, cmd := range commandList {
			c.commandInfo(cmd)
		}
		return
	}
	switch strings.ToLower(string(args[1])) {
	case "count":
		c.out.int(int64(len(commandList)))
	case "info":
		if len(args) == 2 {
			c.out.array(len(commandList))
			for _, cmd := range commandList {
				c.commandInfo(cmd)
			}
			return
		}
		c.out.array(len(args) - 2)
		for _, a := range args[2:] {
			if cmd := commands[strings.ToLower(string(a))]; cmd != nil {
				c.commandInfo(cmd)
			} else {
				c.out.nullArray()
			}
		}
	case "docs":
		// Docs are optional for clients (redis-cli uses them for hints): an
		// entry with a summary for each command asked for (all if none).
		list := commandList
		if len(args) > 2 {
			list = nil
			for _, a := range args[2:] {
				if cmd := commands[strings.ToLower(string(a))]; cmd != nil {
					list = append(list, cmd)
				}
			}
		}
		c.out.mapHeader(len(list))
		for _, cmd := range list {
			c.out.bulkStr(cmd.name)
			c.out.mapHeader(2)
			c.out.bulkStr("summary")
			c.out.bulkStr(cmd.summary)
			c.out.bulkStr("group")
			c.out.bulkStr(cmd.group)
		}
	case "list":
		c.out.array(len(commandList))
		for _, cmd := range commandList {
			c.out.bulkStr(cmd.name)
		}
	case "getkeys":
		if len(args) < 3 {
			c.out.err("ERR wrong number of arguments for 'command|getkeys' command")
			return
		}
		cmd := commands[strings.ToLower(string(args[2]))]
		if cmd == nil {
			c.out.err("ERR Invalid command specified")
			return
		}
		sub := args[2:]
		var keys [][]byte
		if cmd.first > 0 {
			last := cmd.last
			if last < 0 {
				last = len(sub) + last
			}
			for i := cmd.first; i <= last && i < len(sub); i += cmd.step {
				keys = append(keys, sub[i])
			}
		}
		if len(keys) == 0 {
			c.out.err("ERR The command has no key arguments")
			return
		}
		c.out.array(len(keys))
		for _, k := range keys {
			c.out.bulk(k)
		}
	default:
		c.out.err("ERR unknown subcommand '" + string(trunc(args[1])) + "'. Try COMMAND HELP.")
	}
}
