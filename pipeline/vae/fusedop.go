package vae

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fusedLossOp is a gorgonia operation that computes the whole training loss
// with fusedNet, and, as its gradient, the gradients fusedNet computed in
// the same pass. Its inputs are x, eps, the per-row weights of the
// reconstruction and KL terms, then the learnables in network order; its
// output is the scalar loss. With it a training step is one loss node, one
// gradient node per learnable and the optimiser, instead of some eighty
// graph operations.
type fusedLossOp struct {
	f     *fusedNet
	st    *fusedState
	types []hm.Type // of the inputs
}

// fusedState is what the loss operation leaves for its gradient nodes and
// for the training loop.
type fusedState struct {
	// weigh, when set, sets the row weights from the per-row terms between
	// the forward and the backward pass (trimming).
	weigh         weighFunc
	net           *fusedNet
	params, grads [][]float32
	rec, kl       []float32
}

const fusedInputs = 4 // x, eps, wRec, wKL before the learnables

func (op *fusedLossOp) Arity() int { return len(op.types) }

func (op *fusedLossOp) Type() hm.Type {
	return hm.NewFnType(append(append([]hm.Type{}, op.types...), tensor.Float32)...)
}

func (op *fusedLossOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

func (op *fusedLossOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != len(op.types) {
		return nil, fmt.Errorf("fused loss: %d inputs, want %d", len(vals), len(op.types))
	}
	data := float32s
	for i := range op.st.params {
		op.st.params[i] = data(vals[fusedInputs+i])
	}
	st := op.st
	loss := op.f.run(st.params, data(vals[0]), data(vals[1]), data(vals[2]), data(vals[3]), st.rec, st.kl, st.grads, st.weigh)
	return G.NewF32(loss), nil
}

func (op *fusedLossOp) ReturnsPtr() bool      { return false }
func (op *fusedLossOp) CallsExtern() bool     { return false }
func (op *fusedLossOp) OverwritesInput() int  { return -1 }
func (op *fusedLossOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "vae.fusedLoss %p", op) }
func (op *fusedLossOp) Hashcode() uint32      { return hashOf(op) }
func (op *fusedLossOp) String() string        { return "FusedVAELoss" }

// DiffWRT: differentiable with respect to the learnables only.
func (op *fusedLossOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	for i := fusedInputs; i < n; i++ {
		out[i] = true
	}
	return out
}

// SymDiff returns, for each learnable, a node reading the gradient the loss
// operation computed. The loss is the root, so its incoming gradient is 1.
func (op *fusedLossOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, len(inputs))
	for i := fusedInputs; i < len(inputs); i++ {
		shape := inputs[i].Shape().Clone()
		g := &fusedGradOp{st: op.st, param: i - fusedInputs, shape: shape, dims: shape.Dims(),
			out: tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))}
		n, err := G.ApplyOp(g, output)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// fusedGradOp hands out the gradient of one learnable, computed by the
// fusedLossOp it depends on, in a tensor it reuses.
type fusedGradOp struct {
	st    *fusedState
	param int
	shape tensor.Shape
	dims  int
	out   *tensor.Dense
}

func (op *fusedGradOp) Arity() int { return 1 }

func (op *fusedGradOp) Type() hm.Type {
	return hm.NewFnType(tensor.Float32, G.TensorType{Dims: op.dims, Of: tensor.Float32})
}

func (op *fusedGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }

func (op *fusedGradOp) Do(...G.Value) (G.Value, error) {
	copy(op.out.Float32s(), op.st.grads[op.param])
	return op.out, nil
}

func (op *fusedGradOp) ReturnsPtr() bool      { return false }
func (op *fusedGradOp) CallsExtern() bool     { return false }
func (op *fusedGradOp) OverwritesInput() int  { return -1 }
func (op *fusedGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "vae.fusedGrad %p %d", op.st, op.param) }
func (op *fusedGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *fusedGradOp) String() string        { return fmt.Sprintf("FusedVAEGrad(%d)", op.param) }

// float32s returns the data of a float32 tensor value. Unlike Data, it
// does not box the slice in an interface, which allocates at every call:
// the fused trainer reads some forty values a step.
func float32s(v G.Value) []float32 {
	if d, ok := v.(*tensor.Dense); ok && d.Dtype() == tensor.Float32 {
		return d.Float32s()
	}
	f, _ := v.Data().([]float32)
	return f
}

func hashOf(op G.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// fusedStep is the default trainer's step: the graph holds one
// fusedLossOp, which computes the loss and every gradient over
// preallocated buffers (fusedNet), and one fusedGradOp per learnable that
// hands its gradient to gorgonia. It computes what autodiffStep computes,
// equal up to float32 rounding, several times faster.
type fusedStep struct {
	*tape
	st *fusedState
}

// newFusedStep makes the training graph around fusedLossOp on net, for d
// features: the same inputs and learnables as the autodiff reference, with
// the loss and its gradients from one operation each. Adam updates the
// learnables at once, on the fused network's team.
func newFusedStep(cfg Config, d int, net *network) (*fusedStep, error) {
	f := newFusedNet(cfg, d)
	st := &fusedState{net: f, params: make([][]float32, len(net.learnables)), rec: make([]float32, cfg.BatchSize), kl: make([]float32, cfg.BatchSize)}
	for _, s := range f.sizes() {
		st.grads = append(st.grads, make([]float32, s))
	}
	if len(st.grads) != len(net.learnables) {
		return nil, fmt.Errorf("fused network has %d parameters for %d learnables", len(st.grads), len(net.learnables))
	}
	inputs := G.Nodes{net.x, net.eps, net.wRec, net.wKL}
	inputs = append(inputs, net.learnables...)
	op := &fusedLossOp{f: f, st: st}
	for _, n := range inputs {
		op.types = append(op.types, G.TensorType{Dims: n.Shape().Dims(), Of: tensor.Float32})
	}
	loss, err := G.ApplyOp(op, inputs...)
	if err != nil {
		return nil, err
	}
	net.loss = loss
	if _, err := G.Grad(loss, net.learnables...); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	t := newTape(cfg, net)
	t.solver.each = f.team.run
	return &fusedStep{tape: t, st: st}, nil
}

// step runs the graph: the fused operation calls weigh, when set, between
// its forward and backward passes.
func (s *fusedStep) step(weigh weighFunc) (stepLoss, error) {
	s.st.weigh = weigh
	loss, err := s.run()
	if err != nil {
		return stepLoss{}, err
	}
	return stepLoss{loss: loss, rec: s.st.rec, kl: s.st.kl}, s.update()
}

func (s *fusedStep) close() {
	s.tape.close()
	s.st.net.close()
}
