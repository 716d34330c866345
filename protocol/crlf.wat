(module
  (memory (export "memory") 1)
  ;; crlf(src, n, dst, prevCR) -> end of output: copies n bytes at src to dst,
  ;; with every LF not preceded by CR turned into CRLF. dst needs n*2+16 bytes.
  (func (export "crlf") (param $src i32) (param $n i32) (param $dst i32) (param $prev i32) (result i32)
    (local $i i32) (local $o i32) (local $v v128) (local $m i32) (local $p i32) (local $c i32)
    (local.set $o (local.get $dst))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $n)))
        (local.set $v (v128.load align=1 (i32.add (local.get $src) (local.get $i))))
        (v128.store align=1 (local.get $o) (local.get $v))
        (local.set $m (i8x16.bitmask (i8x16.eq (local.get $v) (i8x16.splat (i32.const 10)))))
        (if (i32.eqz (local.get $m))
          (then
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $vloop)))
        (local.set $p (i32.ctz (local.get $m)))
        ;; the byte before this LF: in this vector, before it in src, or the caller's
        (local.set $c
          (if (result i32) (i32.eqz (i32.add (local.get $i) (local.get $p)))
            (then (local.get $prev))
            (else (i32.eq (i32.load8_u (i32.sub (i32.add (i32.add (local.get $src) (local.get $i)) (local.get $p)) (i32.const 1))) (i32.const 13)))))
        (local.set $o (i32.add (local.get $o) (local.get $p)))
        (if (i32.eqz (local.get $c))
          (then
            (i32.store8 (local.get $o) (i32.const 13))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))
        (i32.store8 (local.get $o) (i32.const 10))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (local.set $i (i32.add (i32.add (local.get $i) (local.get $p)) (i32.const 1)))
        (br $vloop)))
    ;; the last < 16 bytes, one at a time
    (local.set $c
      (if (result i32) (i32.eqz (local.get $i))
        (then (local.get $prev))
        (else (i32.eq (i32.load8_u (i32.sub (i32.add (local.get $src) (local.get $i)) (i32.const 1))) (i32.const 13)))))
    (block $done
      (loop $sloop
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $m (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (if (i32.and (i32.eq (local.get $m) (i32.const 10)) (i32.eqz (local.get $c)))
          (then
            (i32.store8 (local.get $o) (i32.const 13))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))
        (i32.store8 (local.get $o) (local.get $m))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (local.set $c (i32.eq (local.get $m) (i32.const 13)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sloop)))
    (i32.sub (local.get $o) (local.get $dst))))
