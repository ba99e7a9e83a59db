// Package control is gowsgi's control socket: the parent process answers
// commands on a unix socket (status, reload, workers N, stop, reopen,
// kill PID, dump PID), and `gowsgi ctl` sends them.
//
// The protocol is one exchange per connection: the client writes one
// request, a JSON object on one line, and the server writes one reply, a
// JSON object on one line, and closes the connection. Both carry the
// protocol version, "v" (Version); a server refuses a request of another
// version. A request names its command in "cmd", with its argument in "n"
// (workers) or "pid" (kill, dump):
//
//	{"v":1,"cmd":"status"}
//	{"v":1,"cmd":"workers","n":4}
//	{"v":1,"cmd":"dump","pid":4711}
//
// A reply says "ok" and carries the command's result in "result", or says
// why not in "error":
//
//	{"v":1,"ok":true,"result":{"workers":4,"was":2}}
//	{"v":1,"ok":false,"error":"pid 1 is not a worker of this server"}
//
// The results are StatusResult (status), WorkersResult (workers),
// KillResult (kill), DumpResult (dump), and an empty object for the other
// commands. Commands go through the supervisor's loop, one at a time, as
// signals do (see prefork.Supervisor.Status and the methods after it).
//
// The socket's file has mode 0600: only its owner (and root) may connect.
package control
