package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/apex-robotics/apex/batchsim"
)

func init() {
	register(&command{
		name:      "model",
		summary:   "Load an MJCF file and print the compiled model (bodies, joints, actuators, geoms).",
		usage:     "model PATH.xml [--json]",
		takesArgs: true,
		run:       runModel,
	})
	register(&command{
		name:    "tasks",
		summary: "List the tasks with their sizes.",
		usage:   "tasks [--json]",
		run:     runTasks,
	})
}

type modelJSON struct {
	Name     string      `json:"name"`
	File     string      `json:"file"`
	Timestep float64     `json:"timestep"`
	Gravity  [3]float64  `json:"gravity"`
	Nq       int         `json:"nq"`
	Nv       int         `json:"nv"`
	Nu       int         `json:"nu"`
	Bodies   []bodyJSON  `json:"bodies"`
	Joints   []jointJSON `json:"joints"`
	Acts     []actJSON   `json:"actuators"`
	Geoms    []geomJSON  `json:"geoms"`
	NPairs   int         `json:"contact_pairs"`
	Warnings []string    `json:"warnings"`
}

type bodyJSON struct {
	Name    string     `json:"name"`
	Parent  string     `json:"parent"`
	Mass    float64    `json:"mass"`
	Inertia [3]float64 `json:"inertia"`
	COM     [3]float64 `json:"com"`
}

type jointJSON struct {
	Name     string      `json:"name"`
	Type     string      `json:"type"`
	Body     string      `json:"body"`
	QposAdr  int         `json:"qpos_adr"`
	QvelAdr  int         `json:"qvel_adr"`
	Limited  bool        `json:"limited"`
	Range    *[2]float64 `json:"range,omitempty"`
	Stiff    float64     `json:"stiffness"`
	Damping  float64     `json:"damping"`
	Armature float64     `json:"armature"`
}

type actJSON struct {
	Name      string      `json:"name"`
	Joint     string      `json:"joint"`
	Gear      float64     `json:"gear"`
	Gain      float64     `json:"gain"`
	Bias      [3]float64  `json:"bias"`
	CtrlRange *[2]float64 `json:"ctrlrange,omitempty"`
}

type geomJSON struct {
	Name     string     `json:"name"`
	Type     string     `json:"type"`
	Body     string     `json:"body"`
	Size     [3]float64 `json:"size"`
	Friction float64    `json:"friction"`
}

func describeModel(m *batchsim.Model) modelJSON {
	out := modelJSON{Name: m.Name, File: m.File, Timestep: m.Opt.Timestep, Gravity: m.Opt.Gravity,
		Nq: m.Nq, Nv: m.Nv, Nu: m.Nu, NPairs: m.Npair, Warnings: m.Warnings}
	for b := 0; b < m.Nbody; b++ {
		parent := ""
		if p := m.BodyParentID[b]; p >= 0 {
			parent = m.BodyName[p]
		}
		out.Bodies = append(out.Bodies, bodyJSON{m.BodyName[b], parent, m.BodyMass[b], m.BodyInertia[b], m.BodyIpos[b]})
	}
	for j := 0; j < m.Njnt; j++ {
		jj := jointJSON{Name: m.JntName[j], Type: m.JntType[j].String(), Body: m.BodyName[m.JntBodyID[j]],
			QposAdr: m.JntQposAdr[j], QvelAdr: m.JntDofAdr[j], Limited: m.JntLimited[j],
			Stiff: m.JntStiffness[j], Damping: m.DofDamping[m.JntDofAdr[j]], Armature: m.DofArmature[m.JntDofAdr[j]]}
		if m.JntLimited[j] {
			r := m.JntRange[j]
			jj.Range = &r
		}
		out.Joints = append(out.Joints, jj)
	}
	for a := 0; a < m.Nu; a++ {
		aj := actJSON{Name: m.ActName[a], Joint: m.JntName[m.ActTrnID[a]], Gear: m.ActGear[a], Gain: m.ActGainPrm[a], Bias: m.ActBiasPrm[a]}
		if m.ActCtrlLimited[a] {
			r := m.ActCtrlRange[a]
			aj.CtrlRange = &r
		}
		out.Acts = append(out.Acts, aj)
	}
	for g := 0; g < m.Ngeom; g++ {
		out.Geoms = append(out.Geoms, geomJSON{m.GeomName[g], m.GeomType[g].String(), m.BodyName[m.GeomBodyID[g]], m.GeomSize[g], m.GeomFriction[g]})
	}
	return out
}

func runModel(args []string, stdout, stderr io.Writer) error {
	c := commands["model"]
	fs := newFlags(c, stderr)
	asJSON := fs.Bool("json", false, "print the compiled model as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one model file, got %d arguments", fs.NArg())
	}
	m, err := batchsim.LoadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	d := describeModel(m)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	fmt.Fprintf(stdout, "model %q from %s: nq %d, nv %d, nu %d, timestep %g, %d candidate contact pairs\n",
		d.Name, d.File, d.Nq, d.Nv, d.Nu, d.Timestep, d.NPairs)
	fmt.Fprintln(stdout, "bodies:")
	for _, b := range d.Bodies {
		fmt.Fprintf(stdout, "  %-16s parent %-12s mass %8.4f  inertia %.5g\n", b.Name, b.Parent, b.Mass, b.Inertia)
	}
	fmt.Fprintln(stdout, "joints:")
	for _, j := range d.Joints {
		r := "unlimited"
		if j.Range != nil {
			r = fmt.Sprintf("range [%.4g, %.4g]", j.Range[0], j.Range[1])
		}
		fmt.Fprintf(stdout, "  %-16s %-5s body %-12s qpos %2d qvel %2d %s\n", j.Name, j.Type, j.Body, j.QposAdr, j.QvelAdr, r)
	}
	fmt.Fprintln(stdout, "actuators:")
	for _, a := range d.Acts {
		fmt.Fprintf(stdout, "  %-16s joint %-16s gear %g\n", a.Name, a.Joint, a.Gear)
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return nil
}

func runTasks(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["tasks"], stderr)
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	type taskJSON struct {
		Name       string  `json:"name"`
		Nq         int     `json:"nq"`
		Nv         int     `json:"nv"`
		Nu         int     `json:"nu"`
		Obs        int     `json:"obs"`
		FrameSkip  int     `json:"frame_skip"`
		ControlDt  float64 `json:"control_dt"`
		EpisodeLen int     `json:"episode_len"`
		Beta       float64 `json:"beta"`
	}
	var out []taskJSON
	for _, n := range batchsim.TaskNames() {
		t, err := batchsim.NewTask(n)
		if err != nil {
			return err
		}
		m := t.Model
		out = append(out, taskJSON{n, m.Nq, m.Nv, m.Nu, t.ObsDim(), t.FrameSkip, t.ControlDt(), t.EpisodeLen, t.Beta})
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%-14s %4s %4s %4s %4s %10s %8s %8s %5s\n", "task", "nq", "nv", "nu", "obs", "frame_skip", "dt", "episode", "beta")
	for _, t := range out {
		fmt.Fprintf(stdout, "%-14s %4d %4d %4d %4d %10d %8.3g %8d %5.2f\n", t.Name, t.Nq, t.Nv, t.Nu, t.Obs, t.FrameSkip, t.ControlDt, t.EpisodeLen, t.Beta)
	}
	return nil
}
