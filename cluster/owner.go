package cluster

import (
	"hash/fnv"
	"slices"
	"time"
)

// Assign gives each camera its owner among the live members: the member it
// is pinned to (pins: camera id → node) when that member is a candidate,
// else the candidate of highest rendezvous weight for the camera. A member
// leaving moves only its own cameras; one joining takes about its share.
//
// Candidates are the members live for holdDown at least, and those that
// joined within holdDown of the oldest live member (a cluster starting
// together shares its cameras at once); a member that comes back to a
// running cluster waits holdDown before it takes its cameras back, so a
// member that comes and goes does not make cameras flap. Cameras are left
// out when there is no member.
func Assign(cameras []string, pins map[string]string, members []Member, holdDown time.Duration, now time.Time) map[string]string {
	out := make(map[string]string, len(cameras))
	cands := candidates(members, holdDown, now)
	if len(cands) == 0 {
		return out
	}
	for _, cam := range cameras {
		if p, ok := pins[cam]; ok && slices.Contains(cands, p) {
			out[cam] = p
			continue
		}
		out[cam] = highest(cam, cands)
	}
	return out
}

// candidates are the nodes that may own cameras now (see Assign).
func candidates(members []Member, holdDown time.Duration, now time.Time) []string {
	if len(members) == 0 {
		return nil
	}
	oldest := members[0].Since
	for _, m := range members[1:] {
		if m.Since.Before(oldest) {
			oldest = m.Since
		}
	}
	var out []string
	for _, m := range members {
		if m.Since.Sub(oldest) <= holdDown || now.Sub(m.Since) >= holdDown {
			out = append(out, m.Node)
		}
	}
	return out
}

// highest is the node of highest rendezvous weight for camera; of equal
// weights (never seen in practice), the first name in order.
func highest(camera string, nodes []string) string {
	best, bestW := "", uint64(0)
	for _, n := range nodes {
		w := weight(n, camera)
		if best == "" || w > bestW || w == bestW && n < best {
			best, bestW = n, w
		}
	}
	return best
}

// weight is the rendezvous weight of node for camera: FNV-1a of both,
// finished with splitmix64's mixer, as FNV alone spreads names that
// differ in one last character poorly.
func weight(node, camera string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(camera))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
