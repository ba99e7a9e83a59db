package main

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// workerCredential turns --user and --group into the credential workers
// run as; nil when neither is given. Names or numeric ids are accepted.
func workerCredential(userName, groupName string) (*syscall.Credential, error) {
	if userName == "" && groupName == "" {
		return nil, nil
	}
	uid, gid := syscall.Getuid(), syscall.Getgid()
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			if u, err = user.LookupId(userName); err != nil {
				return nil, fmt.Errorf("--user %s: no such user", userName)
			}
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return nil, fmt.Errorf("--group %s: no such group", groupName)
			}
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if syscall.Getuid() != 0 && (uid != syscall.Getuid() || gid != syscall.Getgid()) {
		return nil, fmt.Errorf("--user/--group need root to change to uid %d gid %d", uid, gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}
