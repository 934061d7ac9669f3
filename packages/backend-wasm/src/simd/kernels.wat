;; Kernels of @tfpipe/backend-wasm in WebAssembly SIMD, run on the tfjs wasm backend's own heap.
;; Every pointer is a byte offset into that heap (a tensor's memoryOffset). The memory import below is
;; rewritten for the threaded build, whose memory is shared: (memory 1 65536 shared).
;; Regenerate kernels.ts after editing: pnpm --filter @tfpipe/backend-wasm gen:simd
(module
  (import "env" "memory" (memory 1))

  ;; MaxPoolGrad for 2x2 windows, stride 2, no padding, NHWC, channels a multiple of 4. Each window's
  ;; dy goes to its first maximum in row-major order (strict >), like the cpu backend; branch-free:
  ;; top = first max of (a, b), bottom = first max of (c, e), bottom wins only if strictly greater.
  ;; Writes every element of every window (dy or 0); an odd last row/column must be zeroed by the caller.
  (func (export "maxpool_grad_2x2")
    (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32) (param $inH i32) (param $inW i32)
    (param $C i32) (param $outH i32) (param $outW i32)
    (local $b i32) (local $yr i32) (local $yc i32) (local $d i32)
    (local $cb i32) (local $row i32) (local $win i32) (local $o0 i32) (local $o2 i32) (local $g i32)
    (local $va v128) (local $vb v128) (local $vc v128) (local $ve v128) (local $vg v128)
    (local $t v128) (local $u v128) (local $w v128) (local $tv v128) (local $bv v128) (local $gt v128) (local $gbm v128)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))            ;; bytes per pixel
    (local.set $row (i32.mul (local.get $inW) (local.get $cb)))        ;; bytes per input row
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $yr (i32.const 0))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $yr) (local.get $outH)))
        ;; byte offset of the window row: ((b * inH) + 2 * yr) * row
        (local.set $win (i32.mul
          (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.shl (local.get $yr) (i32.const 1)))
          (local.get $row)))
        (local.set $yc (i32.const 0))
        (block $cdone (loop $cloop
          (br_if $cdone (i32.ge_u (local.get $yc) (local.get $outW)))
          (local.set $d (i32.const 0))
          (block $ddone (loop $dloop
            (br_if $ddone (i32.ge_u (local.get $d) (local.get $cb)))
            (local.set $o0 (i32.add (local.get $win) (local.get $d)))
            (local.set $o2 (i32.add (local.get $o0) (local.get $row)))
            (local.set $va (v128.load (i32.add (local.get $x) (local.get $o0))))
            (local.set $vb (v128.load (i32.add (i32.add (local.get $x) (local.get $o0)) (local.get $cb))))
            (local.set $vc (v128.load (i32.add (local.get $x) (local.get $o2))))
            (local.set $ve (v128.load (i32.add (i32.add (local.get $x) (local.get $o2)) (local.get $cb))))
            (local.set $vg (v128.load (local.get $g)))
            (local.set $t (f32x4.gt (local.get $vb) (local.get $va)))
            (local.set $tv (v128.bitselect (local.get $vb) (local.get $va) (local.get $t)))
            (local.set $u (f32x4.gt (local.get $ve) (local.get $vc)))
            (local.set $bv (v128.bitselect (local.get $ve) (local.get $vc) (local.get $u)))
            (local.set $w (f32x4.gt (local.get $bv) (local.get $tv)))
            (local.set $gt (v128.andnot (local.get $vg) (local.get $w)))
            (local.set $gbm (v128.and (local.get $vg) (local.get $w)))
            (v128.store (i32.add (local.get $dx) (local.get $o0)) (v128.andnot (local.get $gt) (local.get $t)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $o0)) (local.get $cb)) (v128.and (local.get $gt) (local.get $t)))
            (v128.store (i32.add (local.get $dx) (local.get $o2)) (v128.andnot (local.get $gbm) (local.get $u)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $o2)) (local.get $cb)) (v128.and (local.get $gbm) (local.get $u)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $dloop)))
          (local.set $win (i32.add (local.get $win) (i32.shl (local.get $cb) (i32.const 1))))
          (local.set $yc (i32.add (local.get $yc) (i32.const 1)))
          (br $cloop)))
        (local.set $yr (i32.add (local.get $yr) (i32.const 1)))
        (br $rloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))
  )

  ;; out[j] = sum over r of x[r * inner + j], for inner a multiple of 4: rows added one after another
  ;; into out (which stays in cache), four columns per instruction.
  (func (export "sum_rows")
    (param $x i32) (param $out i32) (param $rows i32) (param $inner i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $src i32)
    (local.set $bytes (i32.shl (local.get $inner) (i32.const 2)))
    (memory.copy (local.get $out) (local.get $x) (local.get $bytes))
    (local.set $src (i32.add (local.get $x) (local.get $bytes)))
    (local.set $r (i32.const 1))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $bytes)))
        (v128.store (i32.add (local.get $out) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $j))) (v128.load (i32.add (local.get $src) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jloop)))
      (local.set $src (i32.add (local.get $src) (local.get $bytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop)))
  )
)
