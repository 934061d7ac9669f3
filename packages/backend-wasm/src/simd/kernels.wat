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

  ;; Filter gradient of a convolution with few taps (T = fh * fw * ci, a first layer), co a multiple of 4:
  ;; dw[t, o] = sum over output pixels m of x(m, t) * dy[m, o], where x(m, t) is the input under tap t
  ;; of pixel m (0 where padded). Pixels go in chunks of 16: their T tap values are gathered into g
  ;; (T * 16 floats of scratch), then each (t, 4 channels) accumulates over the chunk in a register.
  ;; The caller zeroes dw.
  (func (export "conv_filter_grad_few_taps")
    (param $x i32) (param $dy i32) (param $dw i32) (param $g i32)
    (param $n i32) (param $h i32) (param $w i32) (param $ci i32) (param $oh i32) (param $ow i32) (param $co i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dwd i32) (param $top i32) (param $left i32)
    (local $m i32) (local $total i32) (local $chunk i32) (local $mm i32) (local $b i32) (local $y i32) (local $z i32)
    (local $t i32) (local $taps i32) (local $r i32) (local $q i32) (local $k i32) (local $xr i32) (local $xc i32)
    (local $val f32) (local $cb i32) (local $cob i32) (local $acc v128) (local $gp i32) (local $dp i32) (local $end i32)
    (local.set $taps (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $ci)))
    (local.set $total (i32.mul (i32.mul (local.get $n) (local.get $oh)) (local.get $ow)))
    (local.set $cob (i32.shl (local.get $co) (i32.const 2)))
    (local.set $m (i32.const 0))
    (block $mdone (loop $mloop
      (br_if $mdone (i32.ge_u (local.get $m) (local.get $total)))
      (local.set $chunk (i32.sub (local.get $total) (local.get $m)))
      (if (i32.gt_u (local.get $chunk) (i32.const 16)) (then (local.set $chunk (i32.const 16))))
      ;; gather: g[t * 16 + mm] = x(m + mm, t)
      (local.set $mm (i32.const 0))
      (block $gdone (loop $gloop
        (br_if $gdone (i32.ge_u (local.get $mm) (local.get $chunk)))
        ;; pixel (b, y, z) of m + mm
        (local.set $z (i32.rem_u (i32.add (local.get $m) (local.get $mm)) (local.get $ow)))
        (local.set $y (i32.div_u (i32.add (local.get $m) (local.get $mm)) (local.get $ow)))
        (local.set $b (i32.div_u (local.get $y) (local.get $oh)))
        (local.set $y (i32.rem_u (local.get $y) (local.get $oh)))
        (local.set $t (i32.const 0))
        (local.set $r (i32.const 0))
        (block $rdone (loop $rloop
          (br_if $rdone (i32.ge_u (local.get $r) (local.get $fh)))
          (local.set $xr (i32.add (i32.sub (i32.mul (local.get $y) (local.get $sh)) (local.get $top)) (i32.mul (local.get $r) (local.get $dh))))
          (local.set $q (i32.const 0))
          (block $qdone (loop $qloop
            (br_if $qdone (i32.ge_u (local.get $q) (local.get $fw)))
            (local.set $xc (i32.add (i32.sub (i32.mul (local.get $z) (local.get $sw)) (local.get $left)) (i32.mul (local.get $q) (local.get $dwd))))
            (local.set $k (i32.const 0))
            (block $kdone (loop $kloop
              (br_if $kdone (i32.ge_u (local.get $k) (local.get $ci)))
              (local.set $val (f32.const 0))
              ;; unsigned compares: a negative row/column is a huge number, so one test per bound
              (if (i32.and (i32.lt_u (local.get $xr) (local.get $h)) (i32.lt_u (local.get $xc) (local.get $w)))
                (then (local.set $val (f32.load (i32.add (local.get $x) (i32.shl
                  (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $xr)) (local.get $w)) (local.get $xc)) (local.get $ci)) (local.get $k))
                  (i32.const 2)))))))
              (f32.store (i32.add (local.get $g) (i32.shl (i32.add (i32.shl (local.get $t) (i32.const 4)) (local.get $mm)) (i32.const 2))) (local.get $val))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kloop)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $qloop)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $rloop)))
        (local.set $mm (i32.add (local.get $mm) (i32.const 1)))
        (br $gloop)))
      ;; accumulate: dw[t, cb..cb+3] += sum over mm of g[t, mm] * dy[m + mm, cb..cb+3]
      (local.set $t (i32.const 0))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $taps)))
        (local.set $cb (i32.const 0))
        (block $cdone (loop $cloop
          (br_if $cdone (i32.ge_u (local.get $cb) (local.get $cob)))
          (local.set $acc (v128.load (i32.add (local.get $dw) (i32.add (i32.mul (local.get $t) (local.get $cob)) (local.get $cb)))))
          (local.set $gp (i32.add (local.get $g) (i32.shl (local.get $t) (i32.const 6))))
          (local.set $end (i32.add (local.get $gp) (i32.shl (local.get $chunk) (i32.const 2))))
          (local.set $dp (i32.add (local.get $dy) (i32.add (i32.mul (local.get $m) (local.get $cob)) (local.get $cb))))
          (block $idone (loop $iloop
            (br_if $idone (i32.ge_u (local.get $gp) (local.get $end)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load32_splat (local.get $gp)) (v128.load (local.get $dp)))))
            (local.set $gp (i32.add (local.get $gp) (i32.const 4)))
            (local.set $dp (i32.add (local.get $dp) (local.get $cob)))
            (br $iloop)))
          (v128.store (i32.add (local.get $dw) (i32.add (i32.mul (local.get $t) (local.get $cob)) (local.get $cb))) (local.get $acc))
          (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
          (br $cloop)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tloop)))
      (local.set $m (i32.add (local.get $m) (local.get $chunk)))
      (br $mloop)))
  )

  ;; Batched matrix product C[b] = A[b] x B[b], row-major, no transposes, N a multiple of 4; a batch of 1
  ;; in A or B is broadcast. For many small products (attention: 128 of 48x16 by 16x48), which the stock
  ;; kernel runs one at a time at ~2 GFLOP/s. Each C row is built 4 columns at a time in a register.
  (func (export "batch_matmul")
    (param $a i32) (param $b i32) (param $c i32) (param $batchA i32) (param $batchB i32)
    (param $m i32) (param $k i32) (param $n i32)
    (local $batch i32) (local $bi i32) (local $i i32) (local $j i32) (local $p i32)
    (local $ab i32) (local $bb i32) (local $cb i32) (local $arow i32) (local $bcol i32) (local $nb i32) (local $kb i32)
    (local $acc v128)
    (local.set $batch (select (local.get $batchA) (local.get $batchB) (i32.gt_u (local.get $batchA) (local.get $batchB))))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $bi (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $bi) (local.get $batch)))
      (local.set $ab (i32.add (local.get $a) (i32.mul (select (i32.const 0) (local.get $bi) (i32.eq (local.get $batchA) (i32.const 1))) (i32.mul (local.get $m) (local.get $kb)))))
      (local.set $bb (i32.add (local.get $b) (i32.mul (select (i32.const 0) (local.get $bi) (i32.eq (local.get $batchB) (i32.const 1))) (i32.mul (local.get $k) (local.get $nb)))))
      (local.set $cb (i32.add (local.get $c) (i32.mul (local.get $bi) (i32.mul (local.get $m) (local.get $nb)))))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $arow (i32.add (local.get $ab) (i32.mul (local.get $i) (local.get $kb))))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $nb)))
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $bcol (i32.add (local.get $bb) (local.get $j)))
          (local.set $p (i32.const 0))
          (block $pdone (loop $ploop
            (br_if $pdone (i32.ge_u (local.get $p) (local.get $kb)))
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (v128.load32_splat (i32.add (local.get $arow) (local.get $p))) (v128.load (local.get $bcol)))))
            (local.set $bcol (i32.add (local.get $bcol) (local.get $nb)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $ploop)))
          (v128.store (i32.add (i32.add (local.get $cb) (i32.mul (local.get $i) (local.get $nb))) (local.get $j)) (local.get $acc))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
      (br $bloop)))
  )
)
