package main

import "github.com/prometheus/client_golang/prometheus"

const (
	flagWrite = 1 << iota
	flagReadonly
	flagFast
	flagNoAuth // allowed before AUTH
	flagAdmin
	flagLoading
	flagStale
	flagIncr // INCR, DECR, INCRBY, DECRBY: may be grouped in a pipeline
)

// command is one entry of the command table (Redis's arity convention: N
// exactly N arguments with the name, -N at least N).
type command struct {
	name              string
	arity             int
	flags             int
	first, last, step int
	fn                func(c *client, args [][]byte)
	group, summary    string
	stats             cmdStats
}

type cmdStats struct {
	calls, errors prometheus.Counter
	latency       prometheus.Observer
}

func (c *command) flagNames() []string {
	var out []string
	for _, f := range []struct {
		bit  int
		name string
	}{{flagWrite, "write"}, {flagReadonly, "readonly"}, {flagFast, "fast"}, {flagNoAuth, "no_auth"}, {flagAdmin, "admin"}, {flagLoading, "loading"}, {flagStale, "stale"}} {
		if c.flags&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

var (
	commands    = map[string]*command{}
	commandList []*command
)

func def(name string, arity, flags, first, last, step int, group, summary string, fn func(*client, [][]byte)) {
	c := &command{name: name, arity: arity, flags: flags, first: first, last: last, step: step, fn: fn, group: group, summary: summary}
	commands[name] = c
	commandList = append(commandList, c)
}

func init() {
	const (
		w  = flagWrite
		r  = flagReadonly
		f  = flagFast
		na = flagNoAuth | flagLoading | flagStale | flagFast
	)
	// strings
	def("get", 2, r|f, 1, 1, 1, "string", "Returns the string value of a key.", cmdGet)
	def("set", -3, w, 1, 1, 1, "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", cmdSet)
	setCommand = commands["set"]
	def("setnx", 3, w|f, 1, 1, 1, "string", "Set the string value of a key only when the key doesn't exist.", cmdSetNX)
	def("setex", 4, w, 1, 1, 1, "string", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", cmdSetEX)
	def("psetex", 4, w, 1, 1, 1, "string", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", cmdPSetEX)
	def("getset", 3, w|f, 1, 1, 1, "string", "Returns the previous string value of a key after setting it to a new value.", cmdGetSet)
	def("getdel", 2, w|f, 1, 1, 1, "string", "Returns the string value of a key after deleting the key.", cmdGetDel)
	def("getex", -2, w|f, 1, 1, 1, "string", "Returns the string value of a key after setting its expiration time.", cmdGetEx)
	def("mget", -2, r|f, 1, -1, 1, "string", "Atomically returns the string values of one or more keys.", cmdMGet)
	def("mset", -3, w, 1, -1, 2, "string", "Atomically creates or modifies the string values of one or more keys.", cmdMSet)
	def("msetnx", -3, w, 1, -1, 2, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", cmdMSetNX)
	def("incr", 2, w|f|flagIncr, 1, 1, 1, "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", cmdIncr)
	def("decr", 2, w|f|flagIncr, 1, 1, 1, "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", cmdDecr)
	def("incrby", 3, w|f|flagIncr, 1, 1, 1, "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", cmdIncrBy)
	def("decrby", 3, w|f|flagIncr, 1, 1, 1, "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", cmdDecrBy)
	def("incrbyfloat", 3, w|f, 1, 1, 1, "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", cmdIncrByFloat)
	def("append", 3, w, 1, 1, 1, "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", cmdAppend)
	def("strlen", 2, r|f, 1, 1, 1, "string", "Returns the length of a string value.", cmdStrlen)
	def("getrange", 4, r, 1, 1, 1, "string", "Returns a substring of the string stored at a key.", cmdGetRange)
	def("substr", 4, r, 1, 1, 1, "string", "Returns a substring from a string value.", cmdGetRange)
	def("setrange", 4, w, 1, 1, 1, "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", cmdSetRange)
	// generic
	def("del", -2, w, 1, -1, 1, "generic", "Deletes one or more keys.", cmdDel)
	def("unlink", -2, w|f, 1, -1, 1, "generic", "Asynchronously deletes one or more keys.", cmdDel)
	def("exists", -2, r|f, 1, -1, 1, "generic", "Determines whether one or more keys exist.", cmdExists)
	def("expire", -3, w|f, 1, 1, 1, "generic", "Sets the expiration time of a key in seconds.", cmdExpire)
	def("pexpire", -3, w|f, 1, 1, 1, "generic", "Sets the expiration time of a key in milliseconds.", cmdPExpire)
	def("expireat", -3, w|f, 1, 1, 1, "generic", "Sets the expiration time of a key to a Unix timestamp.", cmdExpireAt)
	def("pexpireat", -3, w|f, 1, 1, 1, "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", cmdPExpireAt)
	def("ttl", 2, r|f, 1, 1, 1, "generic", "Returns the expiration time in seconds of a key.", cmdTTL)
	def("pttl", 2, r|f, 1, 1, 1, "generic", "Returns the expiration time in milliseconds of a key.", cmdPTTL)
	def("expiretime", 2, r|f, 1, 1, 1, "generic", "Returns the expiration time of a key as a Unix timestamp.", cmdExpireTime)
	def("pexpiretime", 2, r|f, 1, 1, 1, "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", cmdPExpireTime)
	def("persist", 2, w|f, 1, 1, 1, "generic", "Removes the expiration time of a key.", cmdPersist)
	def("type", 2, r|f, 1, 1, 1, "generic", "Determines the type of value stored at a key.", cmdType)
	def("rename", 3, w, 1, 2, 1, "generic", "Renames a key and overwrites the destination.", cmdRename)
	def("renamenx", 3, w|f, 1, 2, 1, "generic", "Renames a key only when the target key name doesn't exist.", cmdRenameNX)
	def("keys", 2, r, 0, 0, 0, "generic", "Returns all key names that match a pattern.", cmdKeys)
	def("scan", -2, r, 0, 0, 0, "generic", "Iterates over the key names in the database.", cmdScan)
	def("randomkey", 1, r, 0, 0, 0, "generic", "Returns a random key name from the database.", cmdRandomKey)
	// server
	def("dbsize", 1, r|f, 0, 0, 0, "server", "Returns the number of keys in the database.", cmdDBSize)
	def("flushdb", -1, w, 0, 0, 0, "server", "Remove all keys from the current database.", cmdFlushDB)
	def("flushall", -1, w, 0, 0, 0, "server", "Removes all keys from all databases.", cmdFlushDB)
	def("save", 1, flagAdmin, 0, 0, 0, "server", "Synchronously saves the database(s) to disk.", cmdSave)
	def("bgsave", -1, flagAdmin, 0, 0, 0, "server", "Asynchronously saves the database(s) to disk.", cmdBgSave)
	def("bgrewriteaof", 1, flagAdmin, 0, 0, 0, "server", "Asynchronously rewrites the append-only file to disk.", cmdBgRewriteAOF)
	def("lastsave", 1, f, 0, 0, 0, "server", "Returns the Unix timestamp of the last successful save to disk.", cmdLastSave)
	def("shutdown", -1, flagAdmin|flagLoading|flagStale, 0, 0, 0, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server.", cmdShutdown)
	def("info", -1, flagLoading|flagStale, 0, 0, 0, "server", "Returns information and statistics about the server.", cmdInfo)
	def("config", -2, flagAdmin|flagLoading|flagStale, 0, 0, 0, "server", "A container for server configuration commands.", cmdConfig)
	def("command", -1, flagLoading|flagStale, 0, 0, 0, "server", "Returns detailed information about all commands.", cmdCommand)
	def("time", 1, f|flagLoading|flagStale, 0, 0, 0, "server", "Returns the server time.", cmdTime)
	// connection
	def("ping", -1, f, 0, 0, 0, "connection", "Returns the server's liveliness response.", cmdPing)
	def("echo", 2, f, 0, 0, 0, "connection", "Returns the given string.", cmdEcho)
	def("quit", -1, na, 0, 0, 0, "connection", "Closes the connection.", cmdQuit)
	def("auth", -2, na, 0, 0, 0, "connection", "Authenticates the connection.", cmdAuth)
	def("hello", -1, na, 0, 0, 0, "connection", "Handshakes with the Redis server.", cmdHello)
	def("select", 2, flagLoading|flagStale|f, 0, 0, 0, "connection", "Changes the selected database.", cmdSelect)
	def("client", -2, flagLoading|flagStale, 0, 0, 0, "connection", "A container for client connection commands.", cmdClient)
}
