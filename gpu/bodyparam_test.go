package gpu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// reachXML is a two-link arm under a target body that has no joint: the
// door's shape in miniature (a static body placed per problem, a cost on the
// distance between two sites), small enough for a software adapter's loop
// budget. The arm reaches the floor and its elbow has a limit: the
// rollouts carry contact and limit rows (checked).
const reachXML = `<mujoco model="reach">
  <option timestep="0.01"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="target" pos="0.3 0 0.6"><site name="target" size="0.02"/></body>
    <body name="upper" pos="0 0 0.5">
      <joint name="shoulder" type="hinge" axis="0 1 0" damping="0.5"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03" mass="1"/>
      <body name="lower" pos="0.3 0 0">
        <joint name="elbow" type="hinge" axis="0 1 0" limited="true" range="-2 2" damping="0.5"/>
        <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03" mass="0.5"/>
        <site name="tip" pos="0.3 0 0"/>
      </body>
    </body>
  </worldbody>
  <actuator><motor joint="shoulder" gear="8"/><motor joint="elbow" gear="8"/></actuator>
</mujoco>`

// reachTask places the target body at task parameters 0–2 (Task.BodyPos)
// and plans on the tip's distance to it (TermSiteDist).
func reachTask(t *testing.T) *batchsim.Task {
	t.Helper()
	m, err := batchsim.LoadXML([]byte(reachXML), "reach.xml")
	if err != nil {
		t.Fatal(err)
	}
	tip, target := slices.Index(m.SiteName, "tip"), slices.Index(m.SiteName, "target")
	body := slices.Index(m.BodyName, "target")
	if tip < 0 || target < 0 || body < 0 {
		t.Fatal("reach.xml: sites or the target body not found")
	}
	return &batchsim.Task{
		Name: "reach", Model: m, FrameSkip: 2, EpisodeLen: 50, Beta: 1,
		ActLow: []float64{-1, -1}, ActHigh: []float64{1, 1}, CtrlOffset: []float64{0, 0}, CtrlScale: []float64{1, 1},
		Obs: []batchsim.ObsSegment{{Kind: batchsim.ObsQpos, To: m.Nq}, {Kind: batchsim.ObsQvel, To: m.Nv}},
		Cost: []batchsim.Term{
			{Kind: batchsim.TermSiteDist, I: tip, J: target, W: 1},
			{Kind: batchsim.TermActionSq, W: 0.01},
		},
		NParam:  3,
		BodyPos: []batchsim.BodyParam{{Body: body, Param: 0}},
	}
}

// TestBodyParamsAndSiteDistance: the kernel places a body at each problem's
// task parameters (Task.BodyPos, the door frame) and sums the distance of
// two sites (TermSiteDist, the door's palm-to-handle term) as the Go engine
// does, in the specialised and the generic kernel; the same actions under
// three target positions cost differently, so the parameters are used.
func TestBodyParamsAndSiteDistance(t *testing.T) {
	task := reachTask(t)
	m := task.Model
	const P, N, h = 3, 8, 15
	targets := []float64{0.3, 0, 0.6, 0.45, 0, 0.2, -0.2, 0, 0.3}
	b := &batchsim.Batch{Task: task, Problems: P, Samples: N, Horizon: h, Params: targets}
	rng := rand.New(rand.NewPCG(11, 12))
	seqs := make([]float64, N*h*m.Nu)
	for i := range seqs {
		seqs[i] = 2*rng.Float64() - 1
	}
	for p := 0; p < P; p++ {
		b.Qpos = append(b.Qpos, m.Qpos0...)
		b.Qvel = append(b.Qvel, make([]float64, m.Nv)...)
		b.Actions = append(b.Actions, seqs...) // the same sequences for every target
	}
	// The rollouts carry constraint rows (the floor, the elbow's limit).
	constrained := 0
	d := batchsim.NewData(m)
	for s := 0; s < N; s++ {
		batchsim.ResetData(m, d)
		for k := 0; k < h*task.FrameSkip; k++ {
			task.SetCtrl(d, seqs[(s*h+k/task.FrameSkip)*m.Nu:][:m.Nu])
			if err := batchsim.Step(m, d); err != nil {
				t.Fatal(err)
			}
			if rows, _ := d.ConstraintStats(); rows > 0 {
				constrained++
			}
		}
	}
	if constrained < N*h*task.FrameSkip/10 {
		t.Fatalf("%d of %d physics steps with constraint rows: the test does not exercise them", constrained, N*h*task.FrameSkip)
	}
	var cpu batchsim.Result
	if err := batchsim.NewCPU(0).Evaluate(b, &cpu); err != nil {
		t.Fatal(err)
	}
	for s := 0; s < N; s++ {
		if d := math.Abs(cpu.Main[s] - cpu.Main[N+s]); !(d > 0.1) {
			t.Fatalf("sample %d costs %.4g and %.4g under two targets: the parameters do not move the target", s, cpu.Main[s], cpu.Main[N+s])
		}
	}
	// Not the lean kernel: it differs from the generic one only in where
	// the world's arrays live (TestStepParity/lean), and costs lavapipe
	// minutes to compile.
	for _, k := range []Kernel{KernelSpecialized, KernelGeneric} {
		t.Run(k.String(), func(t *testing.T) {
			e := newTestEvaluator(t, Options{Kernel: k})
			var gpu batchsim.Result
			if err := e.Evaluate(b, &gpu); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for k := range cpu.Main {
				worst = max(worst, math.Abs(gpu.Main[k]-cpu.Main[k])/math.Max(1, math.Abs(cpu.Main[k])))
			}
			t.Logf("%d rollouts of %d steps under %d targets: worst relative cost difference %.2g", P*N, h, P, worst)
			if worst > 1e-3 {
				t.Errorf("GPU and CPU costs differ by %.3g (relative), want <= 1e-3", worst)
			}
		})
	}
}
