package task

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"qianliyan/configs"
)

// Center is what the task rules need to know of the center's configuration:
// its cameras (where a task lands, which cameras are public), its grids and
// its users (who may be dispatched where). It decides where a new task
// lands, who may see a task and what of it, and whom a task may be
// dispatched to; the HTTP side and the camera's side both ask it.
type Center struct {
	cfg *configs.Config
}

// NewCenter returns the rules of the center cfg describes.
func NewCenter(cfg *configs.Config) *Center { return &Center{cfg: cfg} }

// CameraName is the configured name of a camera, or its id.
func (c *Center) CameraName(id string) string {
	if cam := c.cfg.Camera(id); cam != nil && cam.Name != "" {
		return cam.Name
	}
	return id
}

// Place says where a new task lands. On a camera: the camera's grid
// (unless one is given) and place (unless one is given); the zone must be
// one of the camera's. Without a camera: the grid of the camera nearest to
// the task's location, unless one is given. A named grid must be one of the
// center's. It refuses (ErrInvalid) an unknown camera, zone or grid.
func (c *Center) Place(n *NewTask) error {
	if n.Camera != "" {
		cam := c.cfg.Camera(n.Camera)
		if cam == nil {
			return refuseMsg(ErrInvalid, MsgNoCamera, map[string]any{"camera": n.Camera}, "no camera with id %q", n.Camera)
		}
		if n.Zone != "" && !slices.ContainsFunc(cam.Zones, func(z configs.Zone) bool { return z.Name == n.Zone }) {
			return refuseMsg(ErrInvalid, MsgNoZone, map[string]any{"camera": cam.ID, "zone": n.Zone}, "camera %q has no zone %q", cam.ID, n.Zone)
		}
		n.Grid = cmp.Or(n.Grid, cam.Grid)
		if !n.Location.known() {
			n.Location = Location(cam.Location)
		}
	} else if n.Zone != "" {
		return refuse(ErrInvalid, "a zone belongs to a camera: name the camera of zone %q", n.Zone)
	}
	if n.Grid != "" && !slices.Contains(c.Grids(), n.Grid) {
		return refuseMsg(ErrInvalid, MsgNoGrid, map[string]any{"grid": n.Grid, "grids": strings.Join(c.Grids(), ", ")}, "no grid %q; the grids are %s", n.Grid, strings.Join(c.Grids(), ", "))
	}
	if n.Grid == "" && n.Location.known() {
		if cam := c.nearestCamera(n.Location); cam != nil {
			n.Grid = cam.Grid
		}
	}
	return nil
}

// nearestCamera is the configured camera with a location nearest to l, or
// nil when no camera has one.
func (c *Center) nearestCamera(l Location) *configs.Camera {
	var best *configs.Camera
	bestD := math.Inf(1)
	for i := range c.cfg.Cameras {
		cam := &c.cfg.Cameras[i]
		if cam.Location.Lat == 0 && cam.Location.Lng == 0 {
			continue
		}
		if d := DistanceM(l.Lat, l.Lng, cam.Location.Lat, cam.Location.Lng); d < bestD {
			best, bestD = cam, d
		}
	}
	return best
}

// NearbyCamera is a camera and how far it is from a place.
type NearbyCamera struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	DistanceM float64 `json:"distance_m"` // rounded to the metre
}

// NearestCameras lists up to n configured cameras with a location that
// may (nil: every one) allows, nearest to l first.
func (c *Center) NearestCameras(l Location, n int, may func(*configs.Camera) bool) []NearbyCamera {
	var out []NearbyCamera
	for i := range c.cfg.Cameras {
		cam := &c.cfg.Cameras[i]
		if cam.Location.Lat == 0 && cam.Location.Lng == 0 || may != nil && !may(cam) {
			continue
		}
		d := math.Round(DistanceM(l.Lat, l.Lng, cam.Location.Lat, cam.Location.Lng))
		out = append(out, NearbyCamera{ID: cam.ID, Name: cam.Name, DistanceM: d})
	}
	slices.SortStableFunc(out, func(a, b NearbyCamera) int { return cmp.Compare(a.DistanceM, b.DistanceM) })
	return out[:min(n, len(out))]
}

// Grids lists the center's grids (those of its cameras), sorted.
func (c *Center) Grids() []string {
	var out []string
	for _, cam := range c.cfg.Cameras {
		if !slices.Contains(out, cam.Grid) {
			out = append(out, cam.Grid)
		}
	}
	slices.Sort(out)
	return out
}

// PublicCamera reports whether id is a configured public camera.
func (c *Center) PublicCamera(id string) bool {
	cam := c.cfg.Camera(id)
	return cam != nil && cam.Public
}

// MayView says whether a may see t:
//   - staff and admins (and the system): every task;
//   - a worker: the tasks of the worker's grids;
//   - a resident with an id (an account or a device token): the tasks the
//     resident reported, and those on public cameras (which residents may
//     rate), without the other residents' names (see Redact);
//   - an anonymous caller: none.
func (c *Center) MayView(a Actor, t *Task) bool {
	switch a.Role {
	case Staff, Admin, System:
		return true
	case Worker:
		return t.Grid != "" && slices.Contains(a.Grids, t.Grid)
	case Resident:
		return a.ID != "" && (t.Reporter == a.ID || c.PublicCamera(t.Camera))
	}
	return false
}

// ListFilter narrows f to what a may list, for GET /api/tasks: a worker
// lists the worker's grids (mine: the tasks dispatched to the worker), a
// resident what the resident reported (or, naming a public camera, that
// camera's tasks), staff and admins everything (mine: what they reported).
// A worker naming another grid is refused (ErrForbidden). none says that
// the answer is empty without asking the store.
func (c *Center) ListFilter(a Actor, f Filter, mine bool) (_ Filter, none bool, _ error) {
	switch a.Role {
	case Staff, Admin, System:
		if mine {
			f.Reporter = a.ID
		}
	case Worker:
		if mine {
			f.Worker = a.ID
		}
		switch {
		case f.Grid != "" && !slices.Contains(a.Grids, f.Grid):
			return f, false, refuse(ErrForbidden, "grid %s is not one of yours (%s): workers see the tasks of their own grids", f.Grid, strings.Join(a.Grids, ", "))
		case f.Grid != "":
		case len(a.Grids) == 0:
			return f, true, nil
		default:
			f.Grids = a.Grids
		}
	default:
		if a.ID == "" {
			return f, true, nil
		}
		if mine || !c.PublicCamera(f.Camera) {
			f.Reporter = a.ID
		}
	}
	return f, false, nil
}

// CheckDispatch checks that worker is a configured grid worker of grid. An
// empty worker or grid is left to Store.Transition, which says what is
// missing.
func (c *Center) CheckDispatch(worker, grid string) error {
	if worker == "" || grid == "" {
		return nil
	}
	u := c.cfg.User(worker)
	switch {
	case u == nil:
		return refuseMsg(ErrInvalid, MsgNoSuchWorker, map[string]any{"worker": worker, "grid": grid, "workers": c.workersOf(grid)}, "no user %q: dispatch to a grid worker of grid %s (%s)", worker, grid, c.workersOf(grid))
	case u.Role != configs.RoleWorker:
		return refuseMsg(ErrInvalid, MsgNotAWorker, map[string]any{"worker": worker, "role": u.Role, "grid": grid, "workers": c.workersOf(grid)}, "%s is %s, not a grid worker: dispatch to a grid worker of grid %s (%s)", worker, article(u.Role), grid, c.workersOf(grid))
	case !slices.Contains(u.Grids, grid):
		return refuseMsg(ErrInvalid, MsgWorkerOtherGrid, map[string]any{"worker": worker, "grid": grid, "workers": c.workersOf(grid)}, "worker %s works in grid %s, not in grid %s: dispatch to a grid worker of grid %s (%s)", worker, strings.Join(u.Grids, ", "), grid, grid, c.workersOf(grid))
	}
	return nil
}

func article(role string) string {
	if role == configs.RoleAdmin {
		return "an admin"
	}
	return "a " + role
}

// workersOf names the configured workers of grid, or says there are none.
func (c *Center) workersOf(grid string) string {
	var names []string
	for _, u := range c.cfg.Users {
		if u.Role == configs.RoleWorker && slices.Contains(u.Grids, grid) {
			names = append(names, u.Name)
		}
	}
	if len(names) == 0 {
		return "it has none"
	}
	return strings.Join(names, ", ")
}
