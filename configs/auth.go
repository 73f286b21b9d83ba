package configs

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// minSecret is the shortest auth.secret accepted: HMAC-SHA256 keys shorter
// than its 32-byte output weaken it.
const minSecret = 32

func validateAuth(d *decoder, path string, a *Auth) {
	// The secret signs every token: no message repeats it.
	if n := len(a.Secret); n > 0 && n < minSecret {
		d.check(path+".secret", fmt.Sprintf("is %d bytes long; at least %d are needed (or leave it out and the bridge keeps a random one in Redis)", n, minSecret))
	}
	if a.TokenTTL <= 0 {
		d.check(path+".token_ttl", "must be more than zero, like 12h")
	}
	if a.DeviceTTL <= 0 {
		d.check(path+".device_ttl", "must be more than zero, like 8760h")
	}
}

// cameraGrids lists the grids the cameras belong to, sorted, each once.
func cameraGrids(cams []Camera) []string {
	var grids []string
	for _, c := range cams {
		if c.Grid != "" && !slices.Contains(grids, c.Grid) {
			grids = append(grids, c.Grid)
		}
	}
	slices.Sort(grids)
	return grids
}

func validateUsers(d *decoder, path string, users []User, grids []string) {
	first := map[string]string{} // login → path of the user that has it first
	for i := range users {
		up := fmt.Sprintf("%s[%d]", path, i)
		u := &users[i]
		validateUser(d, up, u, grids)
		d.unique(first, u.Name, up, "name", "")
	}
}

var (
	userName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)
	// bcryptHash is the modular crypt form: version, two-digit cost, 22
	// characters of salt and 31 of hash in bcrypt's own base64.
	bcryptHash = regexp.MustCompile(`^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)
	phone      = regexp.MustCompile(`^\+?[0-9][0-9 -]{1,22}[0-9]$`)
)

// DevicePrefix starts the id of every resident device token; no user's
// login may start with it.
const DevicePrefix = "dev-"

// A worker's grids must each be the grid of a camera: the config lists no
// grids of its own, and a mistyped grid ("hexia-1" for "hexia-01") would
// otherwise leave the worker with no camera and no task, silently.
func validateUser(d *decoder, path string, u *User, grids []string) {
	switch {
	case u.Name == "":
		d.check(path+".name", "is required")
	case !userName.MatchString(u.Name):
		d.check(path+".name", fmt.Sprintf("%s must be 1 to 32 of a-z, 0-9, '.', '-' and '_', starting with a letter or digit", quote(u.Name)))
	case strings.HasPrefix(u.Name, DevicePrefix):
		d.check(path+".name", fmt.Sprintf("%s starts with %s, which is kept for residents' device tokens", quote(u.Name), DevicePrefix))
	}
	if u.DisplayName != "" {
		validateName(d, path+".display_name", u.DisplayName)
	}
	switch {
	case u.Role == "":
		d.check(path+".role", "is required (one of "+strings.Join(Roles, ", ")+")")
	case !slices.Contains(Roles, u.Role):
		d.check(path+".role", fmt.Sprintf("%s is not one of %s", quote(u.Role), strings.Join(Roles, ", ")))
	}
	// The hash is never repeated: the field may hold a password pasted by mistake.
	const makeOne = "; make one with: bin/bridge -hash-password"
	if u.PasswordHash == "" {
		d.check(path+".password_hash", "is required: a bcrypt hash of the user's password"+makeOne)
	} else if !bcryptHash.MatchString(u.PasswordHash) {
		d.check(path+".password_hash", "is not a bcrypt hash ($2a$, $2b$ or $2y$, the cost, then 53 characters)"+makeOne)
	} else if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
		var ce bcrypt.InvalidCostError
		if errors.As(err, &ce) {
			d.check(path+".password_hash", fmt.Sprintf("has cost %d; bcrypt's cost goes from %d to %d (10 is usual)%s", int(ce), bcrypt.MinCost, bcrypt.MaxCost, makeOne))
		} else {
			d.check(path+".password_hash", "is not a usable bcrypt hash"+makeOne)
		}
	}
	switch {
	case u.Role == RoleWorker && len(u.Grids) == 0:
		d.check(path+".grids", "a worker needs at least one grid: the grid of the cameras the worker looks after")
	case u.Role != RoleWorker && len(u.Grids) > 0 && slices.Contains(Roles, u.Role):
		d.check(path+".grids", fmt.Sprintf("only workers have grids; a %s user must leave them out", u.Role))
	case u.Role == RoleWorker:
		for i, g := range u.Grids {
			if !slices.Contains(grids, g) {
				d.check(fmt.Sprintf("%s.grids[%d]", path, i), fmt.Sprintf("%s is not the grid of any camera (%s)", quote(g), gridList(grids)))
			}
		}
	}
	if u.Phone != "" && !phone.MatchString(u.Phone) {
		d.check(path+".phone", fmt.Sprintf("%s is not a phone number; write digits, like 13800000000 or +86 138-0000-0000", quote(u.Phone)))
	}
}

// gridList names the known grids for a message, the first ten at most.
func gridList(grids []string) string {
	switch {
	case len(grids) == 0:
		return "no camera has a grid"
	case len(grids) > 10:
		return "grids: " + strings.Join(grids[:10], ", ") + ", …"
	}
	return "grids: " + strings.Join(grids, ", ")
}
