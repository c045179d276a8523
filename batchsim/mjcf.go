package batchsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file reads the subset of MJCF (MuJoCo's XML model format) that the gym
// and DeepMind models use. Reading is strict: an element or attribute that
// would change the dynamics and that the engine does not implement is an
// error naming file:line, never a silent skip. Elements that only matter for
// rendering are accepted; settings of how MuJoCo's solver searches are
// accepted and recorded in Model.Warnings (the engine solves the same
// problem exactly), those that change the problem are refused.

// modelFileLimit is MaxModelFileSize; tests lower it to read a device
// briefly.
var modelFileLimit int64 = MaxModelFileSize

// LoadFile reads and compiles the MJCF model in path. A file above
// MaxModelFileSize is refused before it is read whole; a device or pipe is
// read up to that limit and no further. Included files (<include file=...>)
// and mesh files are read relative to the model file's folder, as MuJoCo
// does, under the same limit each.
func LoadFile(path string) (*Model, error) {
	data, err := readModelFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return LoadXML(data, path)
}

// LoadFS reads and compiles the MJCF model at path in fsys (slash-separated,
// as fs.FS names files); included files and meshes are read from fsys
// relative to the model's folder, under the same size limit as LoadFile's.
// Tasks load their embedded models with it.
func LoadFS(fsys fs.FS, path string) (*Model, error) {
	data, err := readFSFile(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return loadXMLFS(data, path, fsys)
}

// readFSFile is readModelFile for a file in fsys.
func readFSFile(fsys fs.FS, path string) ([]byte, error) {
	f, err := fsys.Open(filepath.ToSlash(path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, modelFileLimit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > modelFileLimit {
		return nil, fmt.Errorf("%s: the file is larger than the limit of %d bytes (%.3g MiB, MaxModelFileSize)", path, modelFileLimit, float64(modelFileLimit)/(1<<20))
	}
	return data, nil
}

// readFile reads an included or mesh file from the compiler's file system:
// fsys when the model came from one, else the operating system's.
func (c *compiler) readFile(path string) ([]byte, error) {
	if c.fsys != nil {
		return readFSFile(c.fsys, path)
	}
	return readModelFile(path)
}

// readModelFile reads a model, include or mesh file, refusing one above
// modelFileLimit before reading it whole.
func readModelFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooBig := fmt.Errorf("%s: the file is larger than the limit of %d bytes (%.3g MiB, MaxModelFileSize)", path, modelFileLimit, float64(modelFileLimit)/(1<<20))
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > modelFileLimit {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, modelFileLimit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > modelFileLimit {
		return nil, tooBig
	}
	return data, nil
}

// LoadXML compiles an MJCF document; filename is used in error messages, and
// its folder is where included files and meshes are looked for.
func LoadXML(data []byte, filename string) (*Model, error) { return loadXMLFS(data, filename, nil) }

// loadXMLFS is LoadXML reading included files and meshes from fsys, or from
// the operating system's files when fsys is nil.
func loadXMLFS(data []byte, filename string, fsys fs.FS) (*Model, error) {
	root, err := parseXML(data, filename, "mujoco")
	if err != nil {
		return nil, err
	}
	c := &compiler{file: filename, dir: filepath.Dir(filename), fsys: fsys, angleDeg: true, inertiaFromGeom: "auto", autoLimits: false}
	if err := c.expandIncludes(root, []string{filepath.Clean(filename)}); err != nil {
		return nil, err
	}
	m, err := c.compile(root)
	if err != nil {
		return nil, err
	}
	m.File = filename
	return m, nil
}

// maxIncludeDepth bounds nested <include>s; a cycle is refused before it.
const maxIncludeDepth = 16

// expandIncludes replaces every <include file="..."/> below n by the
// children of the included file's <mujocoinclude> root, as MuJoCo does.
// chain holds the files being expanded, to refuse a cycle.
func (c *compiler) expandIncludes(n *node, chain []string) error {
	var out []*node
	changed := false
	for _, ch := range n.children {
		if ch.name != "include" {
			if err := c.expandIncludes(ch, chain); err != nil {
				return err
			}
			out = append(out, ch)
			continue
		}
		changed = true
		for _, a := range ch.order {
			if a != "file" {
				return c.errf(ch, "unsupported attribute %q", a)
			}
		}
		name := ch.attrs["file"]
		if name == "" {
			return c.errf(ch, "include needs a file")
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(c.dir, name)
		}
		path = filepath.Clean(path)
		if slices.Contains(chain, path) {
			return c.errf(ch, "file %q includes itself (through %s)", name, strings.Join(chain, " -> "))
		}
		if len(chain) > maxIncludeDepth {
			return c.errf(ch, "includes nested deeper than %d files", maxIncludeDepth)
		}
		data, err := c.readFile(path)
		if err != nil {
			return c.errf(ch, "include: %v", err)
		}
		inc, err := parseXML(data, path, "mujocoinclude")
		if err != nil {
			return err
		}
		if len(inc.order) > 0 {
			return c.errf(inc, "unsupported attribute %q", inc.order[0])
		}
		if err := c.expandIncludes(inc, append(chain, path)); err != nil {
			return err
		}
		out = append(out, inc.children...)
	}
	if changed {
		n.children = out
	}
	return nil
}

// node is an XML element with the line it starts on.
type node struct {
	name     string
	attrs    map[string]string
	order    []string // attribute names in file order
	children []*node
	file     string // file the element is in (an included file or the model)
	line     int
}

// parseXML reads an XML document whose root must be rootName ("mujoco", or
// "mujocoinclude" for an included file).
func parseXML(data []byte, file, rootName string) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	// lineAt counts lines incrementally: offsets only grow, and a fresh count
	// per token would make loading quadratic in the file's size.
	line, counted := 1, 0
	lineAt := func(off int64) int {
		end := min(int(off), len(data))
		if end > counted {
			line += bytes.Count(data[counted:end], []byte("\n"))
			counted = end
		}
		return line
	}
	var stack []*node
	var root *node
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s:%d: malformed XML: %s", file, se.Line, se.Msg)
			}
			return nil, fmt.Errorf("%s:%d: malformed XML: %w", file, lineAt(dec.InputOffset()), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				// MuJoCo reads the first root only; a second one is a file
				// that does not say what the user thinks it says.
				return nil, fmt.Errorf("%s:%d: malformed XML: a second root element <%s> after </%s>", file, lineAt(off), t.Name.Local, root.name)
			}
			n := &node{name: t.Name.Local, attrs: map[string]string{}, file: file, line: lineAt(off)}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
				n.order = append(n.order, a.Name.Local)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				where := "after the root element"
				if root == nil {
					where = "before the root element"
				}
				lead := len(t) - len(bytes.TrimLeft(t, " \t\r\n")) // whitespace is not escaped: offsets agree
				return nil, fmt.Errorf("%s:%d: malformed XML: text %s", file, lineAt(off+int64(lead)), where)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%s:1: malformed XML: no root element", file)
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("%s:%d: malformed XML: <%s> is not closed", file, stack[len(stack)-1].line, stack[len(stack)-1].name)
	}
	if root.name != rootName {
		return nil, fmt.Errorf("%s:%d: root element is <%s>, want <%s>", file, root.line, root.name, rootName)
	}
	return root, nil
}

// attrSet is the attributes of one element after default classes are applied.
type attrSet map[string]string

// defaults holds, per class, the attributes each element kind inherits.
type defaultClass struct {
	parent *defaultClass
	kinds  map[string]attrSet // element kind (joint, geom, motor, ...) -> attributes
}

func (d *defaultClass) lookup(kind string) attrSet {
	out := attrSet{}
	var chain []*defaultClass
	for c := d; c != nil; c = c.parent {
		chain = append(chain, c)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for k, v := range chain[i].kinds[kind] {
			out[k] = v
		}
	}
	return out
}

type compiler struct {
	file            string
	dir             string // folder of the model file: includes and meshes are read from it
	fsys            fs.FS  // where dir is: nil for the operating system's files (LoadFS)
	angleDeg        bool
	inertiaFromGeom string // true, false, auto
	autoLimits      bool
	totalMass       float64 // settotalmass; <= 0 means unset
	classes         map[string]*defaultClass
	m               *Model
	meshDir         string    // compiler/@meshdir, relative to dir
	assetDir        string    // compiler/@assetdir, the mesh folder when meshdir is not given
	geomMass        []float64 // mass of each geom (for inertia), before settotalmass
	geomNode        []*node   // element of each geom, for messages
	jointNode       []*node   // element of each joint, for messages
	geomTorsion     []float64 // torsional friction of each geom (friction[1])
	geomPriority    []int     // geom/@priority
	geomSolmix      []float64 // geom/@solmix
	bodyHasInertial []bool
	bodyMocap       []bool  // mocap="true": fixed where the file puts it
	tendons         []*node // fixed tendons in file order; kept when limited or used by an actuator
	meshNames       map[string]int
	contacts        []*node // <contact> elements, read once the geoms and bodies exist
	// names holds, per element kind (body, joint, geom, site, actuator,
	// tendon, mesh), the file:line where each name was first given ("" for
	// the world body); see uniqueName.
	names map[string]map[string]string
}

// uniqueName records the name of an element of kind (body, joint, geom,
// site, actuator, tendon) and rejects a name given twice to the same kind,
// as MuJoCo does: a reference such as <motor joint="j"> must not be
// ambiguous. Unnamed elements are not recorded; different kinds may share a
// name.
func (c *compiler) uniqueName(n *node, kind, name string) error {
	if name == "" {
		return nil
	}
	if c.names == nil {
		c.names = map[string]map[string]string{}
	}
	seen := c.names[kind]
	if seen == nil {
		seen = map[string]string{}
		c.names[kind] = seen
	}
	if first, dup := seen[name]; dup {
		if first == "" {
			return c.errf(n, "repeated %s name %q: it is the name of the world body", kind, name)
		}
		return c.errf(n, "repeated %s name %q (first at %s): names must be unique per element kind, as in MuJoCo", kind, name, first)
	}
	seen[name] = c.where(n)
	return nil
}

func (c *compiler) errf(n *node, format string, args ...any) error {
	return fmt.Errorf("%s: <%s>: %s", c.where(n), n.name, fmt.Sprintf(format, args...))
}

// where is file:line of an element, in the included file it came from.
func (c *compiler) where(n *node) string {
	f := n.file
	if f == "" {
		f = c.file
	}
	return fmt.Sprintf("%s:%d", f, n.line)
}

// Attributes that only affect rendering, the user's bookkeeping or MuJoCo's
// constraint solver: accepted and not used by the engine.
var ignoredAttrs = map[string]bool{
	"rgba": true, "material": true, "group": true, "user": true, "class": true, "childclass": true,
	"name": true, "texture": true,
}

// known lists the attributes each element kind understands (besides ignoredAttrs).
var known = map[string]map[string]bool{
	"joint": set("type", "pos", "axis", "range", "limited", "stiffness", "springref", "damping",
		"armature", "ref", "margin", "frictionloss", "solreflimit", "solimplimit", "solreffriction", "solimpfriction"),
	"geom": set("type", "size", "pos", "quat", "axisangle", "euler", "xyaxes", "zaxis", "fromto",
		"density", "mass", "friction", "contype", "conaffinity", "solref", "solimp", "solmix", "priority",
		"condim", "margin", "gap", "rgba", "hfield", "mesh"),
	"tendon": set("limited", "range", "solreflimit", "solimplimit", "margin", "stiffness", "damping",
		"frictionloss", "solreffriction", "solimpfriction", "springlength", "width"),
	"mesh":     set("file", "scale", "refpos", "refquat", "smoothnormal", "vertex", "face", "normal", "texcoord", "content_type", "maxhullvert", "inertia"),
	"pair":     set("geom1", "geom2", "condim", "friction", "solref", "solimp", "margin", "gap"),
	"exclude":  set("body1", "body2"),
	"site":     set("type", "size", "pos", "quat", "axisangle", "euler", "xyaxes", "zaxis", "fromto", "rgba"),
	"body":     set("pos", "quat", "axisangle", "euler", "xyaxes", "zaxis", "mocap", "gravcomp"),
	"inertial": set("pos", "quat", "axisangle", "euler", "xyaxes", "zaxis", "mass", "diaginertia", "fullinertia"),
	"motor":    set("joint", "gear", "ctrlrange", "ctrllimited", "forcerange", "forcelimited", "tendon", "site", "dyntype", "gaintype", "biastype"),
	"position": set("joint", "gear", "ctrlrange", "ctrllimited", "forcerange", "forcelimited", "kp", "tendon", "site"),
	"general": set("joint", "gear", "ctrlrange", "ctrllimited", "forcerange", "forcelimited", "gainprm",
		"biasprm", "gaintype", "biastype", "dyntype", "dynprm", "tendon", "site"),
	"freejoint": set(),
}

func set(names ...string) map[string]bool {
	s := map[string]bool{}
	for _, n := range names {
		s[n] = true
	}
	return s
}

// checkAttrs rejects attributes the element kind does not know.
func (c *compiler) checkAttrs(n *node, kind string) error {
	for _, a := range n.order {
		if ignoredAttrs[a] || known[kind][a] {
			continue
		}
		return c.errf(n, "unsupported attribute %q", a)
	}
	return nil
}

func (c *compiler) compile(root *node) (*Model, error) {
	m := &Model{Name: root.attrs["model"], Opt: Options{Timestep: 0.002, Gravity: Vec3{0, 0, -9.81}, Integrator: "Euler"}}
	c.m = m
	c.classes = map[string]*defaultClass{"main": {kinds: map[string]attrSet{}}}
	c.names = map[string]map[string]string{"body": {"world": ""}} // body 0 is the world
	for _, a := range root.order {
		if a != "model" {
			return nil, c.errf(root, "unsupported attribute %q", a)
		}
	}
	// Compiler and defaults first: they change how the rest is read.
	for _, n := range root.children {
		switch n.name {
		case "compiler":
			if err := c.readCompiler(n); err != nil {
				return nil, err
			}
		case "default":
			if err := c.readDefault(n, c.classes["main"], true); err != nil {
				return nil, err
			}
		}
	}
	var world, actuators, custom []*node
	for _, n := range root.children {
		switch n.name {
		case "compiler", "default":
		case "option":
			if err := c.readOption(n); err != nil {
				return nil, err
			}
		case "custom":
			custom = append(custom, n)
		case "asset":
			// Meshes are kept for drawing; textures and materials only matter
			// to a renderer.
			if err := c.readAssets(n); err != nil {
				return nil, err
			}
		case "size", "visual", "statistic", "keyframe", "sensor", "extension":
			// Memory sizes, rendering and bookkeeping: no effect on the dynamics.
		case "worldbody":
			world = append(world, n)
		case "actuator":
			actuators = append(actuators, n)
		case "tendon":
			if err := c.readTendon(n); err != nil {
				return nil, err
			}
		case "contact":
			c.contacts = append(c.contacts, n)
		case "equality":
			return nil, c.errf(n, "equality constraints are not supported (the engine has no equality constraints; running without them would change the dynamics)")
		default:
			return nil, c.errf(n, "unsupported element (it would change the dynamics or is not part of the supported MJCF subset)")
		}
	}
	// Body 0 is the world.
	c.addBody("world", -1, Vec3{}, Quat{1, 0, 0, 0})
	c.bodyHasInertial = append(c.bodyHasInertial, false)
	c.bodyMocap = append(c.bodyMocap, false)
	for _, w := range world {
		if err := c.readBodyChildren(w, 0, c.classes["main"]); err != nil {
			return nil, err
		}
	}
	if err := c.addTendons(actuators); err != nil {
		return nil, err
	}
	for _, a := range actuators {
		if err := c.readActuators(a); err != nil {
			return nil, err
		}
	}
	for _, n := range custom {
		if err := c.readCustom(n); err != nil {
			return nil, err
		}
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *compiler) readCompiler(n *node) error {
	for _, a := range n.order {
		v := n.attrs[a]
		switch a {
		case "angle":
			switch v {
			case "degree":
				c.angleDeg = true
			case "radian":
				c.angleDeg = false
			default:
				return c.errf(n, "angle=%q: want degree or radian", v)
			}
		case "coordinate":
			if v != "local" {
				return c.errf(n, "coordinate=%q: only local coordinates are supported", v)
			}
		case "inertiafromgeom":
			if v != "true" && v != "false" && v != "auto" {
				return c.errf(n, "inertiafromgeom=%q: want true, false or auto", v)
			}
			c.inertiaFromGeom = v
		case "settotalmass":
			f, err := c.float(n, a)
			if err != nil {
				return err
			}
			c.totalMass = f
		case "autolimits":
			c.autoLimits = v == "true"
		case "eulerseq":
			if v != "xyz" {
				return c.errf(n, "eulerseq=%q: only xyz is supported", v)
			}
		case "meshdir":
			c.meshDir = v
		case "assetdir":
			c.assetDir = v
		case "texturedir", "discardvisual", "strippath", "balanceinertia", "boundmass", "boundinertia", "fitaabb", "convexhull", "usethread":
			if a == "boundmass" || a == "boundinertia" || a == "balanceinertia" {
				if v != "0" && v != "false" {
					return c.errf(n, "%s=%q changes inertias and is not supported", a, v)
				}
			}
		default:
			return c.errf(n, "unsupported attribute %q", a)
		}
	}
	return nil
}

func (c *compiler) readOption(n *node) error {
	for _, a := range n.order {
		v := n.attrs[a]
		switch a {
		case "timestep":
			f, err := c.float(n, a)
			if err != nil {
				return err
			}
			if f <= 0 {
				return c.errf(n, "timestep=%q: must be positive", v)
			}
			if f > MaxTimestep {
				return c.errf(n, "timestep=%q: above the limit of %g s", v, float64(MaxTimestep))
			}
			c.m.Opt.Timestep = f
		case "gravity":
			g, err := c.vec(n, a, 3)
			if err != nil {
				return err
			}
			c.m.Opt.Gravity = Vec3{g[0], g[1], g[2]}
		case "integrator":
			switch v {
			case "Euler":
			case "RK4":
				c.warn(n, "integrator=\"RK4\": the engine integrates with semi-implicit Euler")
			default:
				return c.errf(n, "integrator=%q: want Euler or RK4", v)
			}
			c.m.Opt.Integrator = v
		case "solver", "iterations", "tolerance", "mpr_iterations", "mpr_tolerance", "jacobian", "collision":
			c.warn(n, "%s=%q: a setting of how MuJoCo's solver searches; the engine solves the same constraint problem to convergence by Newton's method", a, v)
		case "noslip_iterations", "noslip_tolerance":
			c.warn(n, "%s=%q: MuJoCo's no-slip post-pass is not implemented; contacts and dry friction may creep where MuJoCo's would not", a, v)
		case "cone":
			if v != "pyramidal" {
				return c.errf(n, "cone=%q: the engine has MuJoCo's pyramidal friction cone only", v)
			}
		case "impratio":
			if f, err := c.float(n, a); err != nil {
				return err
			} else if f != 1 {
				return c.errf(n, "impratio=%q: the engine implements impratio 1 (MuJoCo's default) only", v)
			}
		case "viscosity", "density", "wind", "magnetic", "o_margin", "o_solref", "o_solimp":
			if a == "density" || a == "viscosity" {
				f, err := c.float(n, a)
				if err != nil {
					return err
				}
				if f != 0 {
					return c.errf(n, "%s=%q: fluid forces are not supported", a, v)
				}
			}
		default:
			return c.errf(n, "unsupported attribute %q", a)
		}
	}
	for _, ch := range n.children {
		if ch.name != "flag" {
			return c.errf(ch, "unsupported element")
		}
		for _, a := range ch.order {
			switch a {
			case "energy", "warmstart", "filterparent", "actuation", "refsafe", "sensor", "midphase", "eulerdamp", "override", "fwdinv", "island", "nativeccd", "multiccd":
				if (a == "filterparent" || a == "actuation") && ch.attrs[a] == "disable" {
					return c.errf(ch, "%s=\"disable\" is not supported", a)
				}
			case "contact", "gravity", "limit", "constraint", "equality", "frictionloss", "passive", "clampctrl", "damper", "spring":
				if ch.attrs[a] == "disable" {
					return c.errf(ch, "%s=\"disable\" is not supported", a)
				}
			default:
				return c.errf(ch, "unsupported attribute %q", a)
			}
		}
	}
	return nil
}

func (c *compiler) warn(n *node, format string, args ...any) {
	c.m.Warnings = append(c.m.Warnings, fmt.Sprintf("%s: %s", c.where(n), fmt.Sprintf(format, args...)))
}

func (c *compiler) readDefault(n *node, parent *defaultClass, isMain bool) error {
	cls := parent
	if !isMain || n.attrs["class"] != "" && n.attrs["class"] != "main" {
		name := n.attrs["class"]
		if name == "" {
			return c.errf(n, "nested default needs a class name")
		}
		if _, dup := c.classes[name]; dup {
			return c.errf(n, "default class %q defined twice", name)
		}
		cls = &defaultClass{parent: parent, kinds: map[string]attrSet{}}
		c.classes[name] = cls
	}
	for _, ch := range n.children {
		switch ch.name {
		case "default":
			if err := c.readDefault(ch, cls, false); err != nil {
				return err
			}
		case "joint", "geom", "site", "motor", "position", "general", "inertial", "tendon", "mesh", "pair":
			if err := c.checkAttrs(ch, ch.name); err != nil {
				return err
			}
			as := cls.kinds[ch.name]
			if as == nil {
				as = attrSet{}
				cls.kinds[ch.name] = as
			}
			for _, a := range ch.order {
				as[a] = ch.attrs[a]
			}
		case "material", "camera", "light", "equality", "velocity", "intvelocity", "damper", "cylinder", "muscle", "adhesion":
			// Defaults for elements this loader rejects where they are used, or
			// that only affect rendering.
		default:
			return c.errf(ch, "unsupported element in <default>")
		}
	}
	return nil
}

// attrs merges the defaults of cls for kind with the element's own.
func (c *compiler) attrs(n *node, kind string, cls *defaultClass) (attrSet, error) {
	if name, ok := n.attrs["class"]; ok {
		cl, ok := c.classes[name]
		if !ok {
			return nil, c.errf(n, "unknown default class %q", name)
		}
		cls = cl
	}
	as := cls.lookup(kind)
	for _, a := range n.order {
		as[a] = n.attrs[a]
	}
	return as, nil
}

func (c *compiler) addBody(name string, parent int, pos Vec3, q Quat) int {
	m := c.m
	id := m.Nbody
	m.Nbody++
	m.BodyName = append(m.BodyName, name)
	m.BodyParentID = append(m.BodyParentID, parent)
	m.BodyPos = append(m.BodyPos, pos)
	m.BodyQuat = append(m.BodyQuat, q)
	m.BodyMass = append(m.BodyMass, 0)
	m.BodyIpos = append(m.BodyIpos, Vec3{})
	m.BodyIquat = append(m.BodyIquat, Quat{1, 0, 0, 0})
	m.BodyInertia = append(m.BodyInertia, Vec3{})
	m.BodyJntAdr = append(m.BodyJntAdr, -1)
	m.BodyJntNum = append(m.BodyJntNum, 0)
	m.BodyDofAdr = append(m.BodyDofAdr, -1)
	m.BodyDofNum = append(m.BodyDofNum, 0)
	return id
}

func (c *compiler) readBodyChildren(n *node, body int, cls *defaultClass) error {
	var inertial *node
	for _, ch := range n.children {
		switch ch.name {
		case "body":
			if body == 0 && n.name != "worldbody" {
				panic("batchsim: world body nested")
			}
			if err := c.readBody(ch, body, cls); err != nil {
				return err
			}
		case "joint", "freejoint":
			if body == 0 {
				return c.errf(ch, "a joint cannot belong to the world body")
			}
			if err := c.readJoint(ch, body, cls); err != nil {
				return err
			}
		case "geom":
			if err := c.readGeom(ch, body, cls); err != nil {
				return err
			}
		case "site":
			if err := c.readSite(ch, body, cls); err != nil {
				return err
			}
		case "inertial":
			if body == 0 {
				return c.errf(ch, "the world body has no inertia")
			}
			inertial = ch
		case "camera", "light":
			// Rendering only.
		case "composite", "flexcomp", "plugin", "replicate", "frame", "attach":
			return c.errf(ch, "unsupported element")
		default:
			return c.errf(ch, "unsupported element")
		}
	}
	if inertial != nil {
		if err := c.readInertial(inertial, body); err != nil {
			return err
		}
	}
	return nil
}

func (c *compiler) readBody(n *node, parent int, cls *defaultClass) error {
	if err := c.checkAttrs(n, "body"); err != nil {
		return err
	}
	mocap := false
	if v, ok := n.attrs["mocap"]; ok && v == "true" {
		// A mocap body stays where the file puts it unless the program moves
		// it; the engine has no mocap targets, so it is a fixed body.
		if parent != 0 {
			return c.errf(n, "a mocap body must be a child of the world body (as in MuJoCo)")
		}
		mocap = true
		c.warn(n, "mocap body %q is fixed at its pose: the engine has no mocap targets", n.attrs["name"])
	} else if ok && v != "false" {
		return c.errf(n, "mocap=%q: want true or false", v)
	}
	if v, ok := n.attrs["gravcomp"]; ok && v != "0" {
		return c.errf(n, "gravcomp is not supported")
	}
	if name, ok := n.attrs["childclass"]; ok {
		cl, ok := c.classes[name]
		if !ok {
			return c.errf(n, "unknown default class %q", name)
		}
		cls = cl
	}
	as := attrSet{}
	for k, v := range n.attrs {
		as[k] = v
	}
	pos, err := c.vecDefault(n, as, "pos", Vec3{})
	if err != nil {
		return err
	}
	q, err := c.orientation(n, as)
	if err != nil {
		return err
	}
	if c.m.Nbody+1 > MaxBodies {
		return c.errf(n, "the model has more than %d bodies (world included), above the engine's limit MaxBodies = %d", MaxBodies, MaxBodies)
	}
	if err := c.uniqueName(n, "body", n.attrs["name"]); err != nil {
		return err
	}
	id := c.addBody(n.attrs["name"], parent, pos, q)
	c.bodyHasInertial = append(c.bodyHasInertial, false)
	c.bodyMocap = append(c.bodyMocap, mocap)
	return c.readBodyChildren(n, id, cls)
}

func (c *compiler) readJoint(n *node, body int, cls *defaultClass) error {
	m := c.m
	var as attrSet
	typ := JointFree
	if n.name == "freejoint" {
		if err := c.checkAttrs(n, "freejoint"); err != nil {
			return err
		}
		as = attrSet{"name": n.attrs["name"]}
	} else {
		if err := c.checkAttrs(n, "joint"); err != nil {
			return err
		}
		var err error
		if as, err = c.attrs(n, "joint", cls); err != nil {
			return err
		}
		switch t := as["type"]; t {
		case "", "hinge":
			typ = JointHinge
		case "slide":
			typ = JointSlide
		case "free":
			typ = JointFree
		case "ball":
			return c.errf(n, "ball joints are not supported (the engine has hinge, slide and free joints)")
		default:
			return c.errf(n, "unsupported joint type %q (supported: hinge, slide, free)", t)
		}
	}
	if c.bodyMocap[body] {
		return c.errf(n, "a mocap body cannot have joints (as in MuJoCo)")
	}
	if typ == JointFree && m.BodyParentID[body] != 0 {
		return c.errf(n, "a free joint must belong to a child of the world body")
	}
	if typ == JointFree && m.BodyJntNum[body] > 0 {
		return c.errf(n, "a free joint must be the only joint of its body")
	}
	pos, err := c.vecDefault(n, as, "pos", Vec3{})
	if err != nil {
		return err
	}
	axis, err := c.vecDefault(n, as, "axis", Vec3{0, 0, 1})
	if err != nil {
		return err
	}
	na := cNorm3(axis)
	if na < 1e-10 {
		return c.errf(n, "axis has zero length")
	}
	axis = Vec3{axis[0] / na, axis[1] / na, axis[2] / na}
	scalar := func(name string, def float64) (float64, error) {
		if _, ok := as[name]; !ok {
			return def, nil
		}
		return c.floatAttr(n, as, name)
	}
	stiff, err := scalar("stiffness", 0)
	if err != nil {
		return err
	}
	damp, err := scalar("damping", 0)
	if err != nil {
		return err
	}
	arm, err := scalar("armature", 0)
	if err != nil {
		return err
	}
	ref, err := scalar("ref", 0)
	if err != nil {
		return err
	}
	springref, err := scalar("springref", 0)
	if err != nil {
		return err
	}
	fl, err := scalar("frictionloss", 0)
	if err != nil {
		return err
	}
	if fl < 0 || (fl != 0 && typ == JointFree) {
		return c.errf(n, "frictionloss %g: want a non-negative value on a hinge or slide joint", fl)
	}
	margin, err := scalar("margin", 0)
	if err != nil {
		return err
	}
	if margin < 0 {
		return c.errf(n, "margin %g: want a non-negative distance", margin)
	}
	var rng [2]float64
	hasRange := false
	if _, ok := as["range"]; ok {
		r, err := c.vecAttr(n, as, "range", 2)
		if err != nil {
			return err
		}
		rng = [2]float64{r[0], r[1]}
		hasRange = true
	}
	limited := false
	switch as["limited"] {
	case "true":
		limited = true
	case "false":
	case "", "auto":
		limited = hasRange && (c.autoLimits || as["limited"] == "auto")
	default:
		return c.errf(n, "limited=%q: want true, false or auto", as["limited"])
	}
	if typ == JointHinge && c.angleDeg {
		rng[0], rng[1] = rng[0]*math.Pi/180, rng[1]*math.Pi/180
		ref *= math.Pi / 180
		springref *= math.Pi / 180
	}
	if limited && rng[0] >= rng[1] {
		return c.errf(n, "range %g %g: lower limit must be below upper", rng[0], rng[1])
	}
	if typ == JointFree {
		limited = false
	}
	solref, err := c.solref(n, as, "solreflimit")
	if err != nil {
		return err
	}
	solimp, err := c.solimp(n, as, "solimplimit")
	if err != nil {
		return err
	}
	solrefFri, err := c.solref(n, as, "solreffriction")
	if err != nil {
		return err
	}
	solimpFri, err := c.solimp(n, as, "solimpfriction")
	if err != nil {
		return err
	}
	if m.Nv >= MaxDofs || m.Nq >= MaxQpos {
		return c.errf(n, "the model has more degrees of freedom than the engine's limits MaxDofs = %d, MaxQpos = %d", MaxDofs, MaxQpos)
	}
	if err := c.uniqueName(n, "joint", as["name"]); err != nil {
		return err
	}
	id := m.Njnt
	m.Njnt++
	if m.BodyJntNum[body] == 0 {
		m.BodyJntAdr[body] = id
		m.BodyDofAdr[body] = m.Nv
	}
	m.BodyJntNum[body]++
	c.jointNode = append(c.jointNode, n)
	m.JntName = append(m.JntName, as["name"])
	m.JntType = append(m.JntType, typ)
	m.JntBodyID = append(m.JntBodyID, body)
	m.JntQposAdr = append(m.JntQposAdr, m.Nq)
	m.JntDofAdr = append(m.JntDofAdr, m.Nv)
	m.JntPos = append(m.JntPos, pos)
	m.JntAxis = append(m.JntAxis, axis)
	m.JntLimited = append(m.JntLimited, limited)
	m.JntRange = append(m.JntRange, rng)
	m.JntStiffness = append(m.JntStiffness, stiff)
	m.JntSolref = append(m.JntSolref, solref)
	m.JntSolimp = append(m.JntSolimp, solimp)
	m.JntMargin = append(m.JntMargin, margin)
	m.JntLockJnt = append(m.JntLockJnt, -1)
	m.JntLock = append(m.JntLock, [4]float64{})
	nq, nv := 1, 1
	if typ == JointFree {
		nq, nv = 7, 6
		bp, bq := m.BodyPos[body], m.BodyQuat[body]
		m.Qpos0 = append(m.Qpos0, bp[0], bp[1], bp[2], bq[0], bq[1], bq[2], bq[3])
		m.QposSpring = append(m.QposSpring, bp[0], bp[1], bp[2], bq[0], bq[1], bq[2], bq[3])
		if stiff != 0 {
			return c.errf(n, "stiffness on a free joint is not supported")
		}
	} else {
		m.Qpos0 = append(m.Qpos0, ref)
		m.QposSpring = append(m.QposSpring, springref)
	}
	for k := 0; k < nv; k++ {
		m.DofBodyID = append(m.DofBodyID, body)
		m.DofJntID = append(m.DofJntID, id)
		m.DofDamping = append(m.DofDamping, damp)
		m.DofArmature = append(m.DofArmature, arm)
		m.DofFrictionloss = append(m.DofFrictionloss, fl)
		m.DofSolrefFriction = append(m.DofSolrefFriction, solrefFri)
		m.DofSolimpFriction = append(m.DofSolimpFriction, solimpFri)
	}
	m.Nq += nq
	m.Nv += nv
	m.BodyDofNum[body] += nv
	return nil
}

func (c *compiler) readGeom(n *node, body int, cls *defaultClass) error {
	m := c.m
	if err := c.checkAttrs(n, "geom"); err != nil {
		return err
	}
	as, err := c.attrs(n, "geom", cls)
	if err != nil {
		return err
	}
	var typ GeomType
	switch t := as["type"]; t {
	case "", "sphere":
		typ = GeomSphere
	case "capsule":
		typ = GeomCapsule
	case "box":
		typ = GeomBox
	case "plane":
		typ = GeomPlane
	case "cylinder":
		typ = GeomCylinder
	case "mesh":
		typ = GeomMesh
	default:
		return c.errf(n, "unsupported geom type %q (supported: plane, sphere, capsule, box, cylinder, and mesh for drawing)", t)
	}
	if typ == GeomPlane && body != 0 {
		return c.errf(n, "a plane must belong to the world body")
	}
	meshID := -1
	if name, ok := as["mesh"]; ok && typ != GeomMesh {
		return c.errf(n, "mesh=%q on a geom of type %s: fitting a primitive to a mesh is not supported", name, typ)
	}
	if typ == GeomMesh {
		id, ok := c.meshNames[as["mesh"]]
		if !ok {
			return c.errf(n, "mesh %q not found (a mesh geom needs mesh= naming an <asset><mesh>)", as["mesh"])
		}
		meshID = id
		if _, ok := as["fromto"]; ok {
			return c.errf(n, "fromto on a mesh geom is not supported")
		}
	} else if _, ok := as["size"]; !ok && as["fromto"] == "" {
		return c.errf(n, "geom has no size")
	}
	var size Vec3
	if s, ok := as["size"]; ok {
		v, err := c.floats(n, "size", s)
		if err != nil {
			return err
		}
		if len(v) < 1 || len(v) > 3 {
			return c.errf(n, "size: want 1 to 3 numbers, got %d", len(v))
		}
		copy(size[:], v)
	}
	need := map[GeomType]int{GeomSphere: 1, GeomCapsule: 2, GeomCylinder: 2, GeomBox: 3, GeomPlane: 0, GeomMesh: 0}[typ]
	if typ == GeomMesh {
		size = c.m.meshHalfExtents(meshID)
	}
	pos, err := c.vecDefault(n, as, "pos", Vec3{})
	if err != nil {
		return err
	}
	q, err := c.orientation(n, as)
	if err != nil {
		return err
	}
	if ft, ok := as["fromto"]; ok {
		if typ != GeomCapsule && typ != GeomCylinder && typ != GeomBox {
			return c.errf(n, "fromto needs a capsule, cylinder or box")
		}
		v, err := c.floats(n, "fromto", ft)
		if err != nil {
			return err
		}
		if len(v) != 6 {
			return c.errf(n, "fromto: want 6 numbers, got %d", len(v))
		}
		a, b := Vec3{v[0], v[1], v[2]}, Vec3{v[3], v[4], v[5]}
		d := Vec3{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
		l := cNorm3(d)
		if l < 1e-10 {
			return c.errf(n, "fromto has zero length")
		}
		pos = Vec3{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2}
		q = cQuatZTo(Vec3{d[0] / l, d[1] / l, d[2] / l})
		if typ == GeomBox {
			size[2] = l / 2
		} else {
			size[1] = l / 2
		}
		need = 1
	}
	for i := 0; i < need; i++ {
		if !(size[i] > 0) {
			return c.errf(n, "size[%d] = %g: a %s needs %d positive size values", i, size[i], typ, need)
		}
	}
	// friction is sliding, torsional, rolling (MuJoCo's defaults 1, 0.005,
	// 0.0001); rolling friction is not modelled.
	friction, torsion := 1.0, 0.005
	if _, ok := as["friction"]; ok {
		f, err := c.floats(n, "friction", as["friction"])
		if err != nil {
			return err
		}
		if len(f) < 1 || len(f) > 3 || slices.ContainsFunc(f, func(x float64) bool { return x < 0 }) {
			return c.errf(n, "friction=%q: want 1 to 3 non-negative coefficients (sliding, torsional, rolling)", as["friction"])
		}
		friction = f[0]
		if len(f) > 1 {
			torsion = f[1]
		}
	}
	bits := func(name string, def uint32) (uint32, error) {
		v, ok := as[name]
		if !ok {
			return def, nil
		}
		u, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return 0, c.errf(n, "%s=%q: want a non-negative integer", name, v)
		}
		return uint32(u), nil
	}
	ct, err := bits("contype", 1)
	if err != nil {
		return err
	}
	ca, err := bits("conaffinity", 1)
	if err != nil {
		return err
	}
	condim, err := c.condim(n, as)
	if err != nil {
		return err
	}
	solref, err := c.solref(n, as, "solref")
	if err != nil {
		return err
	}
	solimp, err := c.solimp(n, as, "solimp")
	if err != nil {
		return err
	}
	priority := 0
	if v, ok := as["priority"]; ok {
		if priority, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
			return c.errf(n, "priority=%q: want an integer", v)
		}
	}
	solmix := 1.0
	if _, ok := as["solmix"]; ok {
		if solmix, err = c.floatAttr(n, as, "solmix"); err != nil {
			return err
		}
		if solmix < 0 {
			return c.errf(n, "solmix %g: want a non-negative weight", solmix)
		}
	}
	margin := 0.0
	if _, ok := as["margin"]; ok {
		if margin, err = c.floatAttr(n, as, "margin"); err != nil {
			return err
		}
	}
	if _, ok := as["gap"]; ok {
		g, err := c.floatAttr(n, as, "gap")
		if err != nil {
			return err
		}
		if g != 0 {
			return c.errf(n, "gap is not supported")
		}
	}
	rgba := [4]float32{0.5, 0.5, 0.5, 1}
	if _, ok := as["rgba"]; ok {
		v, err := c.vecAttr(n, as, "rgba", 4)
		if err != nil {
			return err
		}
		rgba = [4]float32{float32(v[0]), float32(v[1]), float32(v[2]), float32(v[3])}
	}
	// Mass for the inertia: explicit mass, else density × volume.
	mass := 0.0
	if typ != GeomPlane && typ != GeomMesh {
		if _, ok := as["mass"]; ok {
			if mass, err = c.floatAttr(n, as, "mass"); err != nil {
				return err
			}
		} else {
			density := 1000.0
			if _, ok := as["density"]; ok {
				if density, err = c.floatAttr(n, as, "density"); err != nil {
					return err
				}
			}
			mass = density * geomVolume(typ, size)
		}
		if mass < 0 {
			return c.errf(n, "negative mass")
		}
	}
	if !(mass < math.Inf(1)) {
		return c.errf(n, "geom mass is not finite")
	}
	if m.Ngeom+1 > MaxGeoms {
		return c.errf(n, "the model has more than %d geoms, above the engine's limit MaxGeoms = %d", MaxGeoms, MaxGeoms)
	}
	if err := c.uniqueName(n, "geom", as["name"]); err != nil {
		return err
	}
	m.Ngeom++
	m.GeomName = append(m.GeomName, as["name"])
	m.GeomType = append(m.GeomType, typ)
	m.GeomBodyID = append(m.GeomBodyID, body)
	m.GeomPos = append(m.GeomPos, pos)
	m.GeomQuat = append(m.GeomQuat, q)
	m.GeomSize = append(m.GeomSize, size)
	m.GeomFriction = append(m.GeomFriction, friction)
	m.GeomContype = append(m.GeomContype, ct)
	m.GeomConaffinity = append(m.GeomConaffinity, ca)
	m.GeomSolref = append(m.GeomSolref, solref)
	m.GeomSolimp = append(m.GeomSolimp, solimp)
	m.GeomCondim = append(m.GeomCondim, condim)
	m.GeomMargin = append(m.GeomMargin, margin)
	m.GeomRGBA = append(m.GeomRGBA, rgba)
	m.GeomMeshID = append(m.GeomMeshID, meshID)
	c.geomMass = append(c.geomMass, mass)
	c.geomNode = append(c.geomNode, n)
	c.geomTorsion = append(c.geomTorsion, torsion)
	c.geomPriority = append(c.geomPriority, priority)
	c.geomSolmix = append(c.geomSolmix, solmix)
	return nil
}

func (c *compiler) readSite(n *node, body int, cls *defaultClass) error {
	if err := c.checkAttrs(n, "site"); err != nil {
		return err
	}
	as, err := c.attrs(n, "site", cls)
	if err != nil {
		return err
	}
	pos, err := c.vecDefault(n, as, "pos", Vec3{})
	if err != nil {
		return err
	}
	q, err := c.orientation(n, as)
	if err != nil {
		return err
	}
	if ft, ok := as["fromto"]; ok {
		v, err := c.floats(n, "fromto", ft)
		if err != nil || len(v) != 6 {
			return c.errf(n, "fromto: want 6 numbers")
		}
		pos = Vec3{(v[0] + v[3]) / 2, (v[1] + v[4]) / 2, (v[2] + v[5]) / 2}
	}
	if err := c.uniqueName(n, "site", as["name"]); err != nil {
		return err
	}
	m := c.m
	m.Nsite++
	m.SiteName = append(m.SiteName, as["name"])
	m.SiteBodyID = append(m.SiteBodyID, body)
	m.SitePos = append(m.SitePos, pos)
	m.SiteQuat = append(m.SiteQuat, q)
	return nil
}

func (c *compiler) readInertial(n *node, body int) error {
	if err := c.checkAttrs(n, "inertial"); err != nil {
		return err
	}
	as := attrSet(n.attrs)
	if _, ok := as["mass"]; !ok {
		return c.errf(n, "inertial needs a mass")
	}
	mass, err := c.floatAttr(n, as, "mass")
	if err != nil {
		return err
	}
	pos, err := c.vecDefault(n, as, "pos", Vec3{})
	if err != nil {
		return err
	}
	q, err := c.orientation(n, as)
	if err != nil {
		return err
	}
	var I Vec3
	switch {
	case as["diaginertia"] != "":
		v, err := c.vecAttr(n, as, "diaginertia", 3)
		if err != nil {
			return err
		}
		I = Vec3{v[0], v[1], v[2]}
	case as["fullinertia"] != "":
		v, err := c.vecAttr(n, as, "fullinertia", 6)
		if err != nil {
			return err
		}
		// Full inertia (xx yy zz xy xz yz) in the inertial frame: diagonalise.
		full := [3][3]float64{{v[0], v[3], v[4]}, {v[3], v[1], v[5]}, {v[4], v[5], v[2]}}
		var fq Quat
		I, fq, err = eigInertia(full)
		if err != nil {
			return c.errf(n, "fullinertia: %v", err)
		}
		q = cQuatMul(q, fq)
	default:
		return c.errf(n, "inertial needs diaginertia or fullinertia")
	}
	if mass < 0 || I[0] < 0 || I[1] < 0 || I[2] < 0 {
		return c.errf(n, "negative mass or inertia")
	}
	// No rigid body has principal moments A > B + C; MuJoCo rejects them
	// ("inertia must satisfy A + B >= C") and so does the loader. A full
	// inertia is compared after diagonalisation, with room for its rounding.
	attr, slack := "diaginertia", 0.0
	if as["diaginertia"] == "" {
		attr, slack = "fullinertia", 1e-12*(I[0]+I[1]+I[2])
	}
	for k := range 3 {
		if a, b, d := I[k], I[(k+1)%3], I[(k+2)%3]; a > b+d+slack {
			return c.errf(n, "%s: principal moments %g, %g, %g violate the triangle inequality (%g > %g + %g), which no rigid body has (MuJoCo rejects them too)", attr, I[0], I[1], I[2], a, b, d)
		}
	}
	m := c.m
	m.BodyMass[body], m.BodyIpos[body], m.BodyIquat[body], m.BodyInertia[body] = mass, pos, q, I
	c.bodyHasInertial[body] = true
	return nil
}

func (c *compiler) readActuators(n *node) error {
	m := c.m
	for _, ch := range n.children {
		switch ch.name {
		case "motor", "position", "general":
		default:
			return c.errf(ch, "unsupported actuator (supported: motor, position, general)")
		}
		if err := c.checkAttrs(ch, ch.name); err != nil {
			return err
		}
		as, err := c.attrs(ch, ch.name, c.classes["main"])
		if err != nil {
			return err
		}
		if _, ok := as["site"]; ok {
			return c.errf(ch, "site transmission is not supported; use joint or tendon")
		}
		if err := c.uniqueName(ch, "actuator", as["name"]); err != nil {
			return err
		}
		trnType, jnt := TrnJoint, -1
		if tname, ok := as["tendon"]; ok {
			if jnt, err = c.useTendon(ch, tname); err != nil {
				return err
			}
			trnType = TrnTendon
		} else {
			jname, ok := as["joint"]
			if !ok {
				return c.errf(ch, "actuator needs a joint")
			}
			for j, nm := range m.JntName {
				if nm == jname {
					jnt = j
				}
			}
			if jnt < 0 {
				return c.errf(ch, "joint %q not found", jname)
			}
			if m.JntType[jnt] == JointFree {
				return c.errf(ch, "actuators on free joints are not supported")
			}
		}
		gear := 1.0
		if _, ok := as["gear"]; ok {
			g, err := c.floats(ch, "gear", as["gear"])
			if err != nil {
				return err
			}
			if len(g) < 1 {
				return c.errf(ch, "gear: want a number")
			}
			for _, x := range g[1:] {
				if x != 0 {
					return c.errf(ch, "gear: only the first component applies to a joint")
				}
			}
			gear = g[0]
		}
		var crange [2]float64
		hasRange := false
		if _, ok := as["ctrlrange"]; ok {
			r, err := c.vecAttr(ch, as, "ctrlrange", 2)
			if err != nil {
				return err
			}
			crange, hasRange = [2]float64{r[0], r[1]}, true
		}
		climited := false
		switch as["ctrllimited"] {
		case "true":
			climited = true
		case "", "auto", "false":
			climited = as["ctrllimited"] != "false" && hasRange && (c.autoLimits || as["ctrllimited"] == "auto")
		default:
			return c.errf(ch, "ctrllimited=%q: want true, false or auto", as["ctrllimited"])
		}
		if climited && !(crange[0] < crange[1]) {
			return c.errf(ch, "ctrlrange %g %g: lower must be below upper", crange[0], crange[1])
		}
		if as["forcelimited"] == "true" {
			return c.errf(ch, "forcelimited is not supported")
		}
		gain, bias := 1.0, Vec3{}
		switch ch.name {
		case "position":
			kp := 1.0
			if _, ok := as["kp"]; ok {
				if kp, err = c.floatAttr(ch, as, "kp"); err != nil {
					return err
				}
			}
			gain, bias = kp, Vec3{0, -kp, 0}
		case "general", "motor":
			if dt := as["dyntype"]; dt != "" && dt != "none" {
				return c.errf(ch, "dyntype=%q: activation dynamics are not supported", dt)
			}
			if gt := as["gaintype"]; gt != "" && gt != "fixed" {
				return c.errf(ch, "gaintype=%q: only fixed is supported", gt)
			}
			if bt := as["biastype"]; bt != "" && bt != "none" && bt != "affine" {
				return c.errf(ch, "biastype=%q: only none and affine are supported", bt)
			}
			if ch.name == "general" {
				if v, ok := as["gainprm"]; ok {
					g, err := c.floats(ch, "gainprm", v)
					if err != nil || len(g) < 1 {
						return c.errf(ch, "gainprm: want numbers")
					}
					gain = g[0]
				}
				if v, ok := as["biasprm"]; ok && as["biastype"] == "affine" {
					b, err := c.floats(ch, "biasprm", v)
					if err != nil {
						return err
					}
					copy(bias[:], b)
				}
			}
		}
		if m.Nu+1 > MaxActuators {
			return c.errf(ch, "the model has more than %d actuators, above the engine's limit MaxActuators = %d", MaxActuators, MaxActuators)
		}
		m.Nu++
		m.ActName = append(m.ActName, as["name"])
		m.ActTrnID = append(m.ActTrnID, jnt)
		m.ActTrnType = append(m.ActTrnType, trnType)
		m.ActGear = append(m.ActGear, gear)
		m.ActGainPrm = append(m.ActGainPrm, gain)
		m.ActBiasPrm = append(m.ActBiasPrm, bias)
		m.ActCtrlLimited = append(m.ActCtrlLimited, climited)
		m.ActCtrlRange = append(m.ActCtrlRange, crange)
	}
	return nil
}

// readTendon collects the fixed tendons; addTendons compiles them once the
// joints exist. Spatial tendons and tendon stiffness, damping and friction
// are refused: the engine has none of them.
func (c *compiler) readTendon(n *node) error {
	for _, ch := range n.children {
		switch ch.name {
		case "fixed":
		case "spatial":
			return c.errf(ch, "spatial tendons are not supported (only fixed tendons: a linear combination of hinge and slide joints)")
		default:
			return c.errf(ch, "unsupported tendon (only fixed tendons are supported)")
		}
		if err := c.checkAttrs(ch, "tendon"); err != nil {
			return err
		}
		for _, j := range ch.children {
			if j.name != "joint" {
				return c.errf(j, "unsupported element in a fixed tendon")
			}
			for _, a := range j.order {
				if a != "joint" && a != "coef" {
					return c.errf(j, "unsupported attribute %q", a)
				}
			}
		}
		if err := c.uniqueName(ch, "tendon", ch.attrs["name"]); err != nil {
			return err
		}
		c.tendons = append(c.tendons, ch)
	}
	return nil
}

// addTendons adds, in file order, the fixed tendons that change the
// dynamics: those with limits and those an actuator drives. A tendon
// without either is reported in Warnings and not kept.
func (c *compiler) addTendons(actuators []*node) error {
	m := c.m
	used := map[string]bool{}
	for _, a := range actuators {
		for _, ch := range a.children {
			if t, ok := ch.attrs["tendon"]; ok {
				used[t] = true
			}
		}
	}
	for _, tn := range c.tendons {
		as, err := c.attrs(tn, "tendon", c.classes["main"])
		if err != nil {
			return err
		}
		for _, a := range []string{"stiffness", "damping", "frictionloss"} {
			if _, ok := as[a]; !ok {
				continue
			}
			f, err := c.floatAttr(tn, as, a)
			if err != nil {
				return err
			}
			if f != 0 {
				return c.errf(tn, "tendon %s changes the dynamics and is not supported", a)
			}
		}
		var rng [2]float64
		_, hasRange := as["range"]
		if hasRange {
			r, err := c.vecAttr(tn, as, "range", 2)
			if err != nil {
				return err
			}
			rng = [2]float64{r[0], r[1]}
		}
		limited := false
		switch as["limited"] {
		case "true":
			limited = true
		case "false":
		case "", "auto":
			limited = hasRange && (c.autoLimits || as["limited"] == "auto")
		default:
			return c.errf(tn, "limited=%q: want true, false or auto", as["limited"])
		}
		if limited && !(rng[0] < rng[1]) {
			return c.errf(tn, "range %g %g: lower limit must be below upper", rng[0], rng[1])
		}
		solref, err := c.solref(tn, as, "solreflimit")
		if err != nil {
			return err
		}
		solimp, err := c.solimp(tn, as, "solimplimit")
		if err != nil {
			return err
		}
		margin := 0.0
		if _, ok := as["margin"]; ok {
			if margin, err = c.floatAttr(tn, as, "margin"); err != nil {
				return err
			}
			if margin < 0 {
				return c.errf(tn, "margin %g: want a non-negative distance", margin)
			}
		}
		name := as["name"]
		if !limited && !used[name] {
			c.warn(tn, "fixed tendon %q has no stiffness, damping or limits and no actuator uses it: it does not change the dynamics and is not kept", name)
			continue
		}
		if len(tn.children) == 0 {
			return c.errf(tn, "a fixed tendon needs at least one <joint>")
		}
		m.TendonName = append(m.TendonName, name)
		m.TendonAdr = append(m.TendonAdr, len(m.WrapJntID))
		for _, j := range tn.children {
			jnt := slices.Index(m.JntName, j.attrs["joint"])
			if j.attrs["joint"] == "" || jnt < 0 || (m.JntType[jnt] != JointHinge && m.JntType[jnt] != JointSlide) {
				return c.errf(j, "joint %q: a fixed tendon needs hinge or slide joints", j.attrs["joint"])
			}
			coef := 1.0
			if _, ok := j.attrs["coef"]; ok {
				if coef, err = c.float(j, "coef"); err != nil {
					return err
				}
			}
			m.WrapJntID = append(m.WrapJntID, jnt)
			m.WrapCoef = append(m.WrapCoef, coef)
		}
		m.TendonNum = append(m.TendonNum, len(m.WrapJntID)-m.TendonAdr[len(m.TendonAdr)-1])
		m.TendonLimited = append(m.TendonLimited, limited)
		m.TendonRange = append(m.TendonRange, rng)
		m.TendonSolrefLim = append(m.TendonSolrefLim, solref)
		m.TendonSolimpLim = append(m.TendonSolimpLim, solimp)
		m.TendonMargin = append(m.TendonMargin, margin)
		m.Ntendon++
	}
	return nil
}

// useTendon returns the id of the fixed tendon called name in the Model.
func (c *compiler) useTendon(act *node, name string) (int, error) {
	if i := slices.Index(c.m.TendonName, name); i >= 0 && name != "" {
		return i, nil
	}
	return 0, c.errf(act, "tendon %q not found", name)
}

// solref reads a solref-like attribute (2 numbers), MuJoCo's default when
// absent.
func (c *compiler) solref(n *node, as attrSet, name string) ([2]float64, error) {
	if _, ok := as[name]; !ok {
		return DefaultSolref, nil
	}
	v, err := c.vecAttr(n, as, name, 2)
	if err != nil {
		return [2]float64{}, err
	}
	// A zero makes the reference acceleration vanish (MuJoCo's K = B = 0):
	// a constraint that does not act. Mixed signs MuJoCo replaces by its
	// default with a warning; both are refused here rather than guessed.
	if v[0] == 0 || v[1] == 0 || (v[0] > 0) != (v[1] > 0) {
		return [2]float64{}, c.errf(n, "%s=%q: want a positive time constant and damping ratio (or two negative numbers, MuJoCo's direct stiffness and damping); a zero or mixed signs make the constraint ill-posed", name, as[name])
	}
	return [2]float64{v[0], v[1]}, nil
}

// solimp reads a solimp-like attribute: 1 to 5 numbers, the rest MuJoCo's
// defaults (a file may give the three of MuJoCo 1.x, "0 .8 .03").
func (c *compiler) solimp(n *node, as attrSet, name string) ([5]float64, error) {
	out := DefaultSolimp
	if _, ok := as[name]; !ok {
		return out, nil
	}
	v, err := c.floats(n, name, as[name])
	if err != nil {
		return out, err
	}
	if len(v) < 1 || len(v) > 5 {
		return out, c.errf(n, "%s=%q: want 1 to 5 numbers (dmin, dmax, width, midpoint, power)", name, as[name])
	}
	copy(out[:], v)
	return out, nil
}

// condim reads a contact dimensionality: 1 (frictionless), 3 (sliding
// friction), 4 (and torsional) or 6 (and rolling).
func (c *compiler) condim(n *node, as attrSet) (int, error) {
	v, ok := as["condim"]
	if !ok {
		return 3, nil
	}
	k, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || (k != 1 && k != 3 && k != 4 && k != 6) {
		return 0, c.errf(n, "condim=%q: want 1, 3, 4 or 6", v)
	}
	return k, nil
}

// readAssets reads the meshes of an <asset>; textures, materials and the
// rest only matter to a renderer. Height fields are refused where a geom
// uses one.
func (c *compiler) readAssets(n *node) error {
	for _, ch := range n.children {
		if ch.name == "mesh" {
			if err := c.readMesh(ch); err != nil {
				return err
			}
		}
	}
	return nil
}

// readMesh loads a binary STL mesh for drawing (Model.MeshVert, MeshFace).
// The vertices stay in the file's frame, scaled: MuJoCo moves them to the
// mesh's centre of mass and principal axes and moves the geom frame the
// other way, which draws the same.
func (c *compiler) readMesh(n *node) error {
	if err := c.checkAttrs(n, "mesh"); err != nil {
		return err
	}
	as, err := c.attrs(n, "mesh", c.classes["main"])
	if err != nil {
		return err
	}
	for _, a := range []string{"vertex", "face", "normal", "texcoord"} {
		if _, ok := as[a]; ok {
			return c.errf(n, "%s: mesh data written in the file is not supported; give file= (binary STL)", a)
		}
	}
	if v, ok := as["refpos"]; ok {
		if p, err := c.vecAttr(n, as, "refpos", 3); err != nil || p[0] != 0 || p[1] != 0 || p[2] != 0 {
			return c.errf(n, "refpos=%q is not supported", v)
		}
	}
	if v, ok := as["refquat"]; ok {
		if q, err := c.vecAttr(n, as, "refquat", 4); err != nil || q[0] != 1 || q[1] != 0 || q[2] != 0 || q[3] != 0 {
			return c.errf(n, "refquat=%q is not supported", v)
		}
	}
	file := as["file"]
	if file == "" {
		return c.errf(n, "a mesh needs file=")
	}
	scale := Vec3{1, 1, 1}
	if _, ok := as["scale"]; ok {
		v, err := c.vecAttr(n, as, "scale", 3)
		if err != nil {
			return err
		}
		scale = Vec3{v[0], v[1], v[2]}
	}
	name := as["name"]
	if name == "" {
		// MuJoCo names an unnamed mesh after its file, without folder and
		// extension.
		base := filepath.Base(file)
		name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if err := c.uniqueName(n, "mesh", name); err != nil {
		return err
	}
	path := file
	if !filepath.IsAbs(path) {
		dir := c.meshDir
		if dir == "" {
			dir = c.assetDir
		}
		path = filepath.Join(c.dir, dir, file)
	}
	data, err := c.readFile(path)
	if err != nil {
		return c.errf(n, "mesh %q: %v", name, err)
	}
	vert, face, err := parseSTL(data)
	if err != nil {
		return c.errf(n, "mesh %q: %s: %v", name, path, err)
	}
	for i := range vert {
		for k := range 3 {
			vert[i][k] *= float32(scale[k])
		}
	}
	if c.meshNames == nil {
		c.meshNames = map[string]int{}
	}
	c.meshNames[name] = c.m.addMesh(name, vert, face)
	return nil
}

// finish computes what depends on the whole tree: inertias from geoms,
// settotalmass, dof parents, contact pairs, and checks the engine's limits.
func (c *compiler) finish() error {
	m := c.m
	// Inertia from geoms.
	for b := 1; b < m.Nbody; b++ {
		fromGeom := c.inertiaFromGeom == "true" || (c.inertiaFromGeom == "auto" && !c.bodyHasInertial[b])
		if !fromGeom {
			continue
		}
		for g := 0; g < m.Ngeom; g++ {
			if m.GeomBodyID[g] == b && m.GeomType[g] == GeomMesh {
				return c.errf(c.geomNode[g], "geom %q: the mass and inertia of a mesh are not computed; give body %q an <inertial> (inertiafromgeom=%q)", m.GeomName[g], m.BodyName[b], c.inertiaFromGeom)
			}
		}
		mass, ipos, iquat, inertia, err := c.bodyInertiaFromGeoms(b)
		if err != nil {
			return err
		}
		m.BodyMass[b], m.BodyIpos[b], m.BodyIquat[b], m.BodyInertia[b] = mass, ipos, iquat, inertia
	}
	if c.totalMass > 0 {
		total := 0.0
		for b := 1; b < m.Nbody; b++ {
			total += m.BodyMass[b]
		}
		if total <= 0 {
			return fmt.Errorf("%s: settotalmass: the model has no mass to scale", c.file)
		}
		s := c.totalMass / total
		for b := 1; b < m.Nbody; b++ {
			m.BodyMass[b] *= s
			for k := range 3 {
				m.BodyInertia[b][k] *= s
			}
		}
	}
	// A body that moves needs mass (MuJoCo rejects the same).
	sub := subtreeMass(m)
	for b := 1; b < m.Nbody; b++ {
		if m.BodyDofNum[b] > 0 && !(m.BodyMass[b] > 0) {
			// A massless body with joints is allowed if a descendant carries mass;
			// ABA needs positive articulated inertia, which armature or children give.
			if !(sub[b] > 0) {
				return fmt.Errorf("%s: body %q: moving body has no mass (add geoms with mass or an <inertial>)", c.file, m.BodyName[b])
			}
		}
	}
	// Dof parents: the previous dof of the body, else the last dof of the
	// nearest ancestor that has dofs.
	m.DofParentID = make([]int, m.Nv)
	for b := 1; b < m.Nbody; b++ {
		if m.BodyDofNum[b] == 0 {
			continue
		}
		prev := -1
		for a := m.BodyParentID[b]; a > 0; a = m.BodyParentID[a] {
			if m.BodyDofNum[a] > 0 {
				prev = m.BodyDofAdr[a] + m.BodyDofNum[a] - 1
				break
			}
		}
		for k := 0; k < m.BodyDofNum[b]; k++ {
			m.DofParentID[m.BodyDofAdr[b]+k] = prev
			prev = m.BodyDofAdr[b] + k
		}
	}
	if err := c.contactPairs(); err != nil {
		return err
	}
	// The engine's limits (the GPU kernel's private arrays).
	limits := []struct {
		name    string
		n, max  int
		element string
	}{
		{"MaxBodies", m.Nbody, MaxBodies, "bodies (world included)"},
		{"MaxDofs", m.Nv, MaxDofs, "degrees of freedom"},
		{"MaxQpos", m.Nq, MaxQpos, "position coordinates"},
		{"MaxActuators", m.Nu, MaxActuators, "actuators"},
		{"MaxContactPairs", m.Npair, MaxContactPairs, "candidate contact pairs"},
	}
	for _, l := range limits {
		if l.n > l.max {
			return fmt.Errorf("%s: the model has %d %s, above the engine's limit %s = %d", c.file, l.n, l.element, l.name, l.max)
		}
	}
	for _, f := range m.Qpos0 {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: non-finite default pose", c.file)
		}
	}
	// The constraint solve needs a positive definite mass matrix.
	if j := massless(m); j >= 0 {
		return c.errf(c.jointNode[j], "joint %q moves no mass, inertia or armature (body %q and its children have none): its constraints and dynamics are ill-posed", m.JntName[j], m.BodyName[m.JntBodyID[j]])
	}
	return nil
}

// subtreeMass returns the mass of every body's subtree (bodies come after
// their parents, so one backward pass suffices).
func subtreeMass(m *Model) []float64 {
	sub := append([]float64(nil), m.BodyMass...)
	for b := m.Nbody - 1; b > 0; b-- {
		sub[m.BodyParentID[b]] += sub[b]
	}
	return sub
}

// bodyInertiaFromGeoms sums the geoms' inertias about the body's centre of
// mass and diagonalises the result (MuJoCo's inertiafromgeom).
func (c *compiler) bodyInertiaFromGeoms(b int) (mass float64, com Vec3, iquat Quat, inertia Vec3, err error) {
	m := c.m
	for g := 0; g < m.Ngeom; g++ {
		if m.GeomBodyID[g] != b || m.GeomType[g] == GeomPlane {
			continue
		}
		gm := c.geomMass[g]
		mass += gm
		for k := range 3 {
			com[k] += gm * m.GeomPos[g][k]
		}
	}
	iquat = Quat{1, 0, 0, 0}
	if mass <= 0 {
		return 0, Vec3{}, iquat, Vec3{}, nil
	}
	for k := range 3 {
		com[k] /= mass
	}
	var full [3][3]float64
	for g := 0; g < m.Ngeom; g++ {
		if m.GeomBodyID[g] != b || m.GeomType[g] == GeomPlane {
			continue
		}
		gm := c.geomMass[g]
		d := geomInertia(m.GeomType[g], m.GeomSize[g], gm)
		R := cQuatToMat(m.GeomQuat[g])
		// R·diag(d)·Rᵀ, then the parallel-axis term.
		r := Vec3{m.GeomPos[g][0] - com[0], m.GeomPos[g][1] - com[1], m.GeomPos[g][2] - com[2]}
		rr := r[0]*r[0] + r[1]*r[1] + r[2]*r[2]
		for i := range 3 {
			for j := range 3 {
				s := 0.0
				for k := range 3 {
					s += R[i][k] * d[k] * R[j][k]
				}
				if i == j {
					s += gm * rr
				}
				s -= gm * r[i] * r[j]
				full[i][j] += s
			}
		}
	}
	inertia, iquat, err = eigInertia(full)
	if err != nil {
		return 0, Vec3{}, Quat{}, Vec3{}, fmt.Errorf("%s: body %q: %w", c.file, m.BodyName[b], err)
	}
	return mass, com, iquat, inertia, nil
}

func geomVolume(t GeomType, s Vec3) float64 {
	switch t {
	case GeomSphere:
		return 4.0 / 3 * math.Pi * s[0] * s[0] * s[0]
	case GeomCapsule:
		return 4.0/3*math.Pi*s[0]*s[0]*s[0] + math.Pi*s[0]*s[0]*2*s[1]
	case GeomCylinder:
		return math.Pi * s[0] * s[0] * 2 * s[1]
	case GeomBox:
		return 8 * s[0] * s[1] * s[2]
	}
	return 0
}

// geomInertia is the principal inertia of a solid geom about its centre in
// its own frame, with MuJoCo's formulas (capsule: cylinder plus two
// hemispheres, mass split by volume).
func geomInertia(t GeomType, s Vec3, mass float64) Vec3 {
	switch t {
	case GeomSphere:
		i := 0.4 * mass * s[0] * s[0]
		return Vec3{i, i, i}
	case GeomCapsule:
		r, h := s[0], 2*s[1]
		sm := mass * 4 * r / (4*r + 3*h)
		cm := mass - sm
		ixx := cm*(3*r*r+h*h)/12 + sm*2*r*r/5 + sm*h*(3*r+2*h)/8
		izz := cm*r*r/2 + sm*2*r*r/5
		return Vec3{ixx, ixx, izz}
	case GeomCylinder:
		r, h := s[0], 2*s[1]
		ixx := mass * (3*r*r + h*h) / 12
		return Vec3{ixx, ixx, mass * r * r / 2}
	case GeomBox:
		a, b, cc := 2*s[0], 2*s[1], 2*s[2]
		return Vec3{mass * (b*b + cc*cc) / 12, mass * (a*a + cc*cc) / 12, mass * (a*a + b*b) / 12}
	}
	return Vec3{}
}

// contactPairs lists the geom pairs that may touch: first the explicit
// <contact><pair>s in file order, with their own parameters, then MuJoCo's
// dynamic pairs: geoms of different bodies, (ct1 & ca2) || (ct2 & ca1), not
// both attached to the world frame, not in a parent–child pair of bodies
// unless the parent is the world, and not of two bodies named by an
// <exclude>. Bodies without joints are welded to their parent for these
// tests. A dynamic pair that is also explicit is listed once, as the
// explicit one.
//
// The dynamic pairs' parameters are mixed from the two geoms as MuJoCo does:
// the geom of higher priority gives condim, friction, solref and solimp;
// at equal priority condim and friction are the larger of the two and
// solref, solimp their mean weighted by solmix; the margin is the larger.
func (c *compiler) contactPairs() error {
	m := c.m
	weld := make([]int, m.Nbody)
	for b := 1; b < m.Nbody; b++ {
		if m.BodyJntNum[b] > 0 {
			weld[b] = b
		} else {
			weld[b] = weld[m.BodyParentID[b]]
		}
	}
	type key struct{ a, b int }
	ordered := func(a, b int) key {
		if a > b {
			a, b = b, a
		}
		return key{a, b}
	}
	excluded := map[key]bool{}
	explicit := map[key]bool{}
	add := func(a, b int, friction, torsion float64, condim int, solref [2]float64, solimp [5]float64, margin float64) {
		// The plane, if any, comes first, so that the engine dispatches on
		// (type1 ≤ type2).
		if m.GeomType[b] < m.GeomType[a] {
			a, b = b, a
		}
		m.PairGeom1 = append(m.PairGeom1, a)
		m.PairGeom2 = append(m.PairGeom2, b)
		m.PairFriction = append(m.PairFriction, friction)
		m.PairTorsion = append(m.PairTorsion, torsion)
		m.PairCondim = append(m.PairCondim, condim)
		m.PairSolref = append(m.PairSolref, solref)
		m.PairSolimp = append(m.PairSolimp, solimp)
		m.PairMargin = append(m.PairMargin, margin)
	}
	geomID := func(n *node, attr string) (int, error) {
		name := n.attrs[attr]
		if g := slices.Index(m.GeomName, name); g >= 0 && name != "" {
			return g, nil
		}
		return 0, c.errf(n, "%s=%q: geom not found", attr, name)
	}
	bodyID := func(n *node, attr string) (int, error) {
		name := n.attrs[attr]
		if b := slices.Index(m.BodyName, name); b >= 0 && name != "" {
			return b, nil
		}
		return 0, c.errf(n, "%s=%q: body not found", attr, name)
	}
	for _, cn := range c.contacts {
		for _, ch := range cn.children {
			switch ch.name {
			case "pair":
				if err := c.checkAttrs(ch, "pair"); err != nil {
					return err
				}
				as, err := c.attrs(ch, "pair", c.classes["main"])
				if err != nil {
					return err
				}
				g1, err := geomID(ch, "geom1")
				if err != nil {
					return err
				}
				g2, err := geomID(ch, "geom2")
				if err != nil {
					return err
				}
				if g1 == g2 {
					return c.errf(ch, "a pair of geom %q with itself", m.GeomName[g1])
				}
				condim, err := c.condim(ch, as)
				if err != nil {
					return err
				}
				// A pair's own defaults, not mixed from its geoms (MuJoCo 2.2.2).
				fr := [5]float64{1, 1, 0.005, 0.0001, 0.0001}
				if v, ok := as["friction"]; ok {
					f, err := c.floats(ch, "friction", v)
					if err != nil {
						return err
					}
					if len(f) < 1 || len(f) > 5 || slices.ContainsFunc(f, func(x float64) bool { return x < 0 }) {
						return c.errf(ch, "friction=%q: want 1 to 5 non-negative coefficients (tangent 1, tangent 2, torsional, rolling 1, rolling 2)", v)
					}
					copy(fr[:], f)
				}
				if fr[0] != fr[1] {
					return c.errf(ch, "friction=%q: anisotropic friction (different tangential coefficients) is not supported", as["friction"])
				}
				solref, err := c.solref(ch, as, "solref")
				if err != nil {
					return err
				}
				solimp, err := c.solimp(ch, as, "solimp")
				if err != nil {
					return err
				}
				margin := 0.0
				if _, ok := as["margin"]; ok {
					if margin, err = c.floatAttr(ch, as, "margin"); err != nil {
						return err
					}
				}
				if _, ok := as["gap"]; ok {
					if g, err := c.floatAttr(ch, as, "gap"); err != nil || g != 0 {
						return c.errf(ch, "gap is not supported")
					}
				}
				explicit[ordered(g1, g2)] = true
				add(g1, g2, fr[0], fr[2], condim, solref, solimp, margin)
			case "exclude":
				if err := c.checkAttrs(ch, "exclude"); err != nil {
					return err
				}
				b1, err := bodyID(ch, "body1")
				if err != nil {
					return err
				}
				b2, err := bodyID(ch, "body2")
				if err != nil {
					return err
				}
				excluded[ordered(b1, b2)] = true
			default:
				return c.errf(ch, "unsupported element in <contact>")
			}
		}
	}
	for g1 := 0; g1 < m.Ngeom; g1++ {
		for g2 := g1 + 1; g2 < m.Ngeom; g2++ {
			b1, b2 := weld[m.GeomBodyID[g1]], weld[m.GeomBodyID[g2]]
			if b1 == b2 {
				continue
			}
			if m.GeomContype[g1]&m.GeomConaffinity[g2] == 0 && m.GeomContype[g2]&m.GeomConaffinity[g1] == 0 {
				continue
			}
			if b1 > 0 && b2 > 0 && (weld[m.BodyParentID[b1]] == b2 || weld[m.BodyParentID[b2]] == b1) {
				continue
			}
			if m.GeomType[g1] == GeomPlane && m.GeomType[g2] == GeomPlane {
				continue
			}
			if excluded[ordered(m.GeomBodyID[g1], m.GeomBodyID[g2])] || explicit[key{g1, g2}] {
				continue
			}
			a, b := g1, g2
			var (
				condim            int
				friction, torsion float64
				solref            [2]float64
				solimp            [5]float64
			)
			if pa, pb := c.geomPriority[a], c.geomPriority[b]; pa != pb {
				h := a
				if pb > pa {
					h = b
				}
				condim, friction, torsion = m.GeomCondim[h], m.GeomFriction[h], c.geomTorsion[h]
				solref, solimp = m.GeomSolref[h], m.GeomSolimp[h]
			} else {
				condim = max(m.GeomCondim[a], m.GeomCondim[b])
				friction = max(m.GeomFriction[a], m.GeomFriction[b])
				torsion = max(c.geomTorsion[a], c.geomTorsion[b])
				mix := 0.5
				sa, sb := c.geomSolmix[a], c.geomSolmix[b]
				switch {
				case sa < mjMinVal && sb < mjMinVal:
				case sa < mjMinVal:
					mix = 0
				case sb < mjMinVal:
					mix = 1
				default:
					mix = sa / (sa + sb)
				}
				for k := range solref {
					solref[k] = mix*m.GeomSolref[a][k] + (1-mix)*m.GeomSolref[b][k]
				}
				for k := range solimp {
					solimp[k] = mix*m.GeomSolimp[a][k] + (1-mix)*m.GeomSolimp[b][k]
				}
			}
			add(a, b, friction, torsion, condim, solref, solimp, max(m.GeomMargin[a], m.GeomMargin[b]))
		}
	}
	m.Npair = len(m.PairGeom1)
	// What the engine cannot collide: a mesh is for drawing only, and a
	// cylinder collides as a capsule.
	warned := map[int]bool{}
	for p := range m.Npair {
		for _, g := range []int{m.PairGeom1[p], m.PairGeom2[p]} {
			switch m.GeomType[g] {
			case GeomMesh:
				other := m.PairGeom1[p] + m.PairGeom2[p] - g
				return c.errf(c.geomNode[g], "geom %s: a mesh geom that can collide (here with geom %s) is not supported; meshes are loaded for drawing only: give it contype=\"0\" conaffinity=\"0\" and collide with primitives", geomLabel(m, g), geomLabel(m, other))
			case GeomCylinder:
				if !warned[g] {
					warned[g] = true
					c.warn(c.geomNode[g], "geom %s: a cylinder collides as a capsule of the same radius and half-length (its mass and inertia are the cylinder's)", geomLabel(m, g))
				}
			}
		}
	}
	return nil
}

// geomLabel names geom g in a message: its name, or its number when it has
// none.
func geomLabel(m *Model, g int) string {
	if m.GeomName[g] != "" {
		return strconv.Quote(m.GeomName[g])
	}
	return fmt.Sprintf("%d (unnamed)", g)
}

// mjMinVal is MuJoCo's mjMINVAL, below which a mixing weight counts as 0.
const mjMinVal = 1e-15

// Orientation of a frame: at most one of quat, axisangle, euler, xyaxes, zaxis.
func (c *compiler) orientation(n *node, as attrSet) (Quat, error) {
	var found []string
	for _, k := range []string{"quat", "axisangle", "euler", "xyaxes", "zaxis"} {
		if _, ok := as[k]; ok {
			found = append(found, k)
		}
	}
	if len(found) > 1 {
		return Quat{}, c.errf(n, "orientation given twice (%s)", strings.Join(found, ", "))
	}
	if len(found) == 0 {
		return Quat{1, 0, 0, 0}, nil
	}
	angle := func(a float64) float64 {
		if c.angleDeg {
			return a * math.Pi / 180
		}
		return a
	}
	switch found[0] {
	case "quat":
		v, err := c.vecAttr(n, as, "quat", 4)
		if err != nil {
			return Quat{}, err
		}
		q := Quat{v[0], v[1], v[2], v[3]}
		l := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
		if l < 1e-10 {
			return Quat{}, c.errf(n, "quat has zero length")
		}
		return Quat{q[0] / l, q[1] / l, q[2] / l, q[3] / l}, nil
	case "axisangle":
		v, err := c.vecAttr(n, as, "axisangle", 4)
		if err != nil {
			return Quat{}, err
		}
		return c.axisAngle(n, Vec3{v[0], v[1], v[2]}, angle(v[3]))
	case "euler":
		v, err := c.vecAttr(n, as, "euler", 3)
		if err != nil {
			return Quat{}, err
		}
		// Intrinsic x-y-z rotations (MuJoCo's default eulerseq "xyz").
		q := Quat{1, 0, 0, 0}
		for i := range 3 {
			var ax Vec3
			ax[i] = 1
			r, _ := c.axisAngle(n, ax, angle(v[i]))
			q = cQuatMul(q, r)
		}
		return q, nil
	case "xyaxes":
		v, err := c.vecAttr(n, as, "xyaxes", 6)
		if err != nil {
			return Quat{}, err
		}
		x, y := Vec3{v[0], v[1], v[2]}, Vec3{v[3], v[4], v[5]}
		lx := cNorm3(x)
		if lx < 1e-10 {
			return Quat{}, c.errf(n, "xyaxes: x has zero length")
		}
		x = Vec3{x[0] / lx, x[1] / lx, x[2] / lx}
		d := x[0]*y[0] + x[1]*y[1] + x[2]*y[2]
		y = Vec3{y[0] - d*x[0], y[1] - d*x[1], y[2] - d*x[2]}
		ly := cNorm3(y)
		if ly < 1e-10 {
			return Quat{}, c.errf(n, "xyaxes: y is parallel to x")
		}
		y = Vec3{y[0] / ly, y[1] / ly, y[2] / ly}
		z := cCross3(x, y)
		return cMatToQuat([3][3]float64{{x[0], y[0], z[0]}, {x[1], y[1], z[1]}, {x[2], y[2], z[2]}}), nil
	default: // zaxis
		v, err := c.vecAttr(n, as, "zaxis", 3)
		if err != nil {
			return Quat{}, err
		}
		l := cNorm3(Vec3{v[0], v[1], v[2]})
		if l < 1e-10 {
			return Quat{}, c.errf(n, "zaxis has zero length")
		}
		return cQuatZTo(Vec3{v[0] / l, v[1] / l, v[2] / l}), nil
	}
}

func (c *compiler) axisAngle(n *node, axis Vec3, a float64) (Quat, error) {
	l := cNorm3(axis)
	if l < 1e-10 {
		return Quat{}, c.errf(n, "rotation axis has zero length")
	}
	s := math.Sin(a/2) / l
	return Quat{math.Cos(a / 2), axis[0] * s, axis[1] * s, axis[2] * s}, nil
}

// Number parsing with file:line errors. NaN and infinities are rejected.

func (c *compiler) floats(n *node, name, s string) ([]float64, error) {
	fields := strings.Fields(s)
	out := make([]float64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, c.errf(n, "%s=%q: %q is not a number", name, s, f)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, c.errf(n, "%s=%q: non-finite value", name, s)
		}
		out[i] = v
	}
	return out, nil
}

func (c *compiler) float(n *node, name string) (float64, error) {
	return c.floatAttr(n, attrSet(n.attrs), name)
}

func (c *compiler) floatAttr(n *node, as attrSet, name string) (float64, error) {
	v, err := c.floats(n, name, as[name])
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, c.errf(n, "%s=%q: want one number", name, as[name])
	}
	return v[0], nil
}

func (c *compiler) vecAttr(n *node, as attrSet, name string, k int) ([]float64, error) {
	v, err := c.floats(n, name, as[name])
	if err != nil {
		return nil, err
	}
	if len(v) != k {
		return nil, c.errf(n, "%s=%q: want %d numbers, got %d", name, as[name], k, len(v))
	}
	return v, nil
}

func (c *compiler) vec(n *node, name string, k int) ([]float64, error) {
	return c.vecAttr(n, attrSet(n.attrs), name, k)
}

func (c *compiler) vecDefault(n *node, as attrSet, name string, def Vec3) (Vec3, error) {
	if _, ok := as[name]; !ok {
		return def, nil
	}
	v, err := c.vecAttr(n, as, name, 3)
	if err != nil {
		return Vec3{}, err
	}
	return Vec3{v[0], v[1], v[2]}, nil
}

// readCustom reads the apex extensions kept in MJCF's <custom> element
// (which MuJoCo itself ignores): <text name="apex:jointlock[...]"
// data="joint gate upper catch gatelow gatehigh"/> gives joint a
// conditional upper limit (Model.JntLock). Other custom data is ignored.
func (c *compiler) readCustom(n *node) error {
	m := c.m
	jointID := func(name string) int {
		for j, nm := range m.JntName {
			if nm == name {
				return j
			}
		}
		return -1
	}
	for _, ch := range n.children {
		if ch.name != "text" || !strings.HasPrefix(ch.attrs["name"], "apex:jointlock") {
			continue
		}
		f := strings.Fields(ch.attrs["data"])
		if len(f) != 6 {
			return c.errf(ch, "apex:jointlock: data %q: want \"joint gate upper catch gatelow gatehigh\"", ch.attrs["data"])
		}
		j, g := jointID(f[0]), jointID(f[1])
		if j < 0 || g < 0 {
			return c.errf(ch, "apex:jointlock: joints %q and %q must exist", f[0], f[1])
		}
		if t := m.JntType[j]; (t != JointHinge && t != JointSlide) || !m.JntLimited[j] {
			return c.errf(ch, "apex:jointlock: joint %q must be a limited hinge or slide", f[0])
		}
		if t := m.JntType[g]; t != JointHinge && t != JointSlide {
			return c.errf(ch, "apex:jointlock: gate %q must be a hinge or slide", f[1])
		}
		var v [4]float64
		for k := range v {
			x, err := strconv.ParseFloat(f[2+k], 64)
			if err != nil {
				return c.errf(ch, "apex:jointlock: %q is not a number", f[2+k])
			}
			v[k] = x
		}
		if c.angleDeg {
			if m.JntType[j] == JointHinge {
				v[0], v[1] = v[0]*math.Pi/180, v[1]*math.Pi/180
			}
			if m.JntType[g] == JointHinge {
				v[2], v[3] = v[2]*math.Pi/180, v[3]*math.Pi/180
			}
		}
		if !(v[2] < v[3]) || !(v[0] < m.JntRange[j][1]) {
			return c.errf(ch, "apex:jointlock: want gatelow < gatehigh and upper below the joint's range")
		}
		m.JntLockJnt[j], m.JntLock[j] = g, v
	}
	return nil
}
