package prefork

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenerStats describes the queue of a listening socket: the connections
// the kernel has completed and no worker has accepted yet (the listen
// backlog).
type ListenerStats struct {
	Name   string // the listener's address, as Listen names it
	Known  bool   // Queued and Limit could be read (Linux, a TCP or unix stream socket)
	Queued int    // connections waiting to be accepted
	Limit  int    // how many may wait: ListenConfig.Backlog capped by net.core.somaxconn
}

// listenerStats reads the queue of each listener. A listener whose queue
// cannot be read (closed, or a kind of socket this does not know) is listed
// with Known false.
func listenerStats(files []*os.File) []ListenerStats {
	stats := make([]ListenerStats, len(files))
	for i, f := range files {
		stats[i].Name = f.Name()
		q, l, err := listenQueue(f)
		if err == nil {
			stats[i].Known, stats[i].Queued, stats[i].Limit = true, q, l
		}
	}
	return stats
}

// listenQueue returns how many connections wait to be accepted on the
// listening socket f, and how many may.
func listenQueue(f *os.File) (queued, limit int, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	if cerr := rc.Control(func(fd uintptr) { queued, limit, err = fdListenQueue(int(fd)) }); cerr != nil {
		return 0, 0, cerr
	}
	return queued, limit, err
}

// fdListenQueue is listenQueue on a descriptor. For TCP, Linux reports a
// listening socket's accept queue in TCP_INFO: its length in tcpi_unacked
// and its limit in tcpi_sacked (what `ss -lt` shows as Recv-Q and Send-Q).
// A unix socket has no TCP_INFO; sock_diag reports the same two numbers.
func fdListenQueue(fd int) (queued, limit int, err error) {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return 0, 0, err
	}
	switch sa.(type) {
	case *syscall.SockaddrInet4, *syscall.SockaddrInet6:
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return 0, 0, err
		}
		if info.State != unix.BPF_TCP_LISTEN {
			return 0, 0, errors.New("not a listening socket")
		}
		return int(info.Unacked), int(info.Sacked), nil
	case *syscall.SockaddrUnix:
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return 0, 0, err
		}
		return unixListenQueue(uint32(st.Ino))
	}
	return 0, 0, fmt.Errorf("socket address %T: not TCP or unix", sa)
}

// The parts of the sock_diag netlink protocol (linux/sock_diag.h,
// linux/unix_diag.h) that unixListenQueue uses.
const (
	sockDiagByFamily  = 20         // SOCK_DIAG_BY_FAMILY: the request's message type
	udiagShowRQLen    = 0x10       // UDIAG_SHOW_RQLEN: report the queue lengths
	unixDiagRQLen     = 4          // UNIX_DIAG_RQLEN: the attribute holding them
	tcpListen         = 10         // TCP_LISTEN, the state unix sockets share with TCP
	unixDiagReqSize   = 24         // struct unix_diag_req
	unixDiagMsgSize   = 16         // struct unix_diag_msg
	diagNoCookie      = 0xffffffff // INET_DIAG_NOCOOKIE, each half: any socket with the inode
	netlinkHeaderSize = syscall.NLMSG_HDRLEN
)

// unixListenQueue asks the kernel, by sock_diag, for the queue of the
// listening unix socket with inode ino: the connections waiting to be
// accepted and the limit.
func unixListenQueue(ino uint32) (queued, limit int, err error) {
	s, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, 0, os.NewSyscallError("socket", err)
	}
	defer syscall.Close(s)
	// A reply that takes more than a second is not coming.
	tv := syscall.Timeval{Sec: 1}
	if err := syscall.SetsockoptTimeval(s, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return 0, 0, os.NewSyscallError("setsockopt", err)
	}
	req := make([]byte, netlinkHeaderSize+unixDiagReqSize)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // sequence number
	r := req[netlinkHeaderSize:]
	r[0] = syscall.AF_UNIX
	ne.PutUint32(r[4:], 1<<tcpListen)
	ne.PutUint32(r[8:], ino)
	ne.PutUint32(r[12:], udiagShowRQLen)
	ne.PutUint32(r[16:], diagNoCookie)
	ne.PutUint32(r[20:], diagNoCookie)
	if err := syscall.Sendto(s, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return 0, 0, os.NewSyscallError("sendto", err)
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(s, buf, 0)
	if err != nil {
		return 0, 0, os.NewSyscallError("recvfrom", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return 0, 0, err
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case syscall.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if errno := -int32(ne.Uint32(m.Data)); errno != 0 {
					return 0, 0, fmt.Errorf("sock_diag: %w", syscall.Errno(errno))
				}
			}
			return 0, 0, errors.New("sock_diag: error reply")
		case sockDiagByFamily:
			if len(m.Data) < unixDiagMsgSize {
				return 0, 0, errors.New("sock_diag: short reply")
			}
			if rq, ok := netlinkAttr(m.Data[unixDiagMsgSize:], unixDiagRQLen); ok && len(rq) >= 8 {
				return int(ne.Uint32(rq[0:])), int(ne.Uint32(rq[4:])), nil
			}
		}
	}
	return 0, 0, errors.New("sock_diag: no queue lengths in the reply")
}

// netlinkAttr finds the attribute of type typ among the netlink attributes
// in b (each a 4-byte header, length then type, and a payload, aligned to
// 4 bytes) and returns its payload.
func netlinkAttr(b []byte, typ uint16) ([]byte, bool) {
	ne := binary.NativeEndian
	for len(b) >= syscall.SizeofRtAttr {
		n := int(ne.Uint16(b[0:]))
		if n < syscall.SizeofRtAttr || n > len(b) {
			return nil, false
		}
		if ne.Uint16(b[2:]) == typ {
			return b[syscall.SizeofRtAttr:n], true
		}
		b = b[min(len(b), (n+3)&^3):]
	}
	return nil, false
}
