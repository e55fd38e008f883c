//! The open-addressing table both keydir layouts share: buckets of slots probed linearly,
//! each slot holding a 32-bit hash tag (0 = empty) and a layout-specific payload, with
//! per-bucket overflow counts as in Folly's F14 so that a lookup of a missing key usually
//! stops at its home bucket. The tag also gives the home bucket, so the table grows
//! without the keys (which the hashed layout does not have).

/// A bucket layout: how many slots, what each holds, where the overflow count lives, and
/// the load policy (which decides the memory a key costs).
pub(super) trait Bucket: Copy + Default {
    const SLOTS: usize;
    /// The table grows once `MAX_LOAD.0 / MAX_LOAD.1` of its slots are used...
    const MAX_LOAD: (usize, usize);
    /// ... by `1 / GROW_DIV` of its buckets (at least).
    const GROW_DIV: usize;
    /// Whether the overflow count is kept inside the bucket (else in a side array).
    const INLINE_OVERFLOW: bool;
    type Slot: Copy;

    fn tag(&self, s: usize) -> u32;
    fn slot(&self, s: usize) -> Self::Slot;
    fn set(&mut self, s: usize, tag: u32, slot: Self::Slot);
    fn set_slot(&mut self, s: usize, slot: Self::Slot);
    fn clear(&mut self, s: usize);
    fn inline_overflow(&self) -> u8 {
        0
    }
    fn set_inline_overflow(&mut self, _: u8) {}
}

/// Slot position: (bucket, slot in bucket).
pub(super) type Pos = (usize, usize);

pub(super) fn tag_of(h: u64) -> u32 {
    (h as u32).max(1)
}

/// The home bucket of `tag` in a table of `n` buckets (a multiply, not a modulo: any table
/// size works, so the table can grow by a fraction of itself).
fn home(tag: u32, n: usize) -> usize {
    ((tag as u64 * n as u64) >> 32) as usize
}

pub(super) struct Table<B: Bucket> {
    buckets: Vec<B>,
    /// Per bucket (when not inline): how many entries whose probe started at or before it
    /// were placed past it (saturating at 255, which then stays until the next rehash).
    overflow: Vec<u8>,
    len: usize,
}

impl<B: Bucket> Default for Table<B> {
    fn default() -> Self {
        Table {
            buckets: Vec::new(),
            overflow: Vec::new(),
            len: 0,
        }
    }
}

impl<B: Bucket> Table<B> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn tag(&self, (b, s): Pos) -> u32 {
        self.buckets[b].tag(s)
    }

    pub fn slot(&self, (b, s): Pos) -> B::Slot {
        self.buckets[b].slot(s)
    }

    pub fn set_slot(&mut self, (b, s): Pos, slot: B::Slot) {
        self.buckets[b].set_slot(s, slot)
    }

    fn overflow(&self, b: usize) -> u8 {
        if B::INLINE_OVERFLOW {
            self.buckets[b].inline_overflow()
        } else {
            self.overflow[b]
        }
    }

    fn set_overflow(&mut self, b: usize, v: u8) {
        if B::INLINE_OVERFLOW {
            self.buckets[b].set_inline_overflow(v)
        } else {
            self.overflow[b] = v
        }
    }

    fn next(&self, b: usize) -> usize {
        if b + 1 == self.buckets.len() {
            0
        } else {
            b + 1
        }
    }

    /// Walks `h`'s probe chain, calling `hit` on every slot whose tag matches until it
    /// returns true. The chain ends at the first bucket that nothing overflowed past, or
    /// after one lap: in a small table, overflow counts can be non-zero all the way round.
    pub fn probe(&self, h: u64, mut hit: impl FnMut(Pos) -> bool) -> Option<Pos> {
        if self.buckets.is_empty() {
            return None;
        }
        let tag = tag_of(h);
        let mut b = home(tag, self.buckets.len());
        for _ in 0..self.buckets.len() {
            let bucket = &self.buckets[b];
            for s in 0..B::SLOTS {
                if bucket.tag(s) == tag && hit((b, s)) {
                    return Some((b, s));
                }
            }
            if self.overflow(b) == 0 {
                return None;
            }
            b = self.next(b);
        }
        None
    }

    /// Adds an entry for a key that has none (the caller checked).
    pub fn insert_new(&mut self, h: u64, slot: B::Slot) {
        self.reserve(1);
        self.place(tag_of(h), slot);
        self.len += 1;
    }

    fn place(&mut self, tag: u32, slot: B::Slot) {
        let mut b = home(tag, self.buckets.len());
        loop {
            let bucket = &mut self.buckets[b];
            if let Some(s) = (0..B::SLOTS).find(|&s| bucket.tag(s) == 0) {
                bucket.set(s, tag, slot);
                return;
            }
            let o = self.overflow(b).saturating_add(1);
            self.set_overflow(b, o);
            b = self.next(b);
        }
    }

    fn capacity(&self) -> usize {
        self.buckets.len() * B::SLOTS * B::MAX_LOAD.0 / B::MAX_LOAD.1
    }

    /// Makes room for `n` more keys without growing the table on the way.
    pub fn reserve(&mut self, n: usize) {
        let want = self.len + n;
        if want <= self.capacity() {
            return;
        }
        let n = self.buckets.len();
        let grown = n + n / B::GROW_DIV;
        let needed = (want * B::MAX_LOAD.1).div_ceil(B::MAX_LOAD.0 * B::SLOTS);
        self.rehash(grown.max(needed).max(2));
    }

    /// Shrinks a table left emptier than growth would leave it (opening reserves room for
    /// every record of each hint file, duplicates included) to the middle of its load range.
    pub fn fit(&mut self) {
        let (num, den) = (B::MAX_LOAD.0 as f64, B::MAX_LOAD.1 as f64);
        let max = num / den;
        let min = max / (1.0 + 1.0 / B::GROW_DIV as f64);
        let slots = (self.buckets.len() * B::SLOTS) as f64;
        if self.buckets.len() <= 2 || self.len as f64 >= min * slots {
            return;
        }
        let target = (min + max) / 2.0;
        let n = ((self.len as f64 / target) / B::SLOTS as f64).ceil() as usize;
        self.rehash(n.max(2));
    }

    fn rehash(&mut self, n: usize) {
        let mut buckets = Vec::with_capacity(n);
        // Advised while untouched: the writes below fault it in as huge pages.
        crate::storage::advise_huge_pages(buckets.spare_capacity_mut());
        buckets.resize(n, B::default());
        let old = std::mem::replace(&mut self.buckets, buckets);
        self.overflow = if B::INLINE_OVERFLOW {
            Vec::new()
        } else {
            vec![0; n]
        };
        for bucket in &old {
            for s in 0..B::SLOTS {
                if bucket.tag(s) != 0 {
                    self.place(bucket.tag(s), bucket.slot(s));
                }
            }
        }
    }

    /// Empties the slot at `pos`, undoing the overflow counts its placement added on its
    /// way from its home bucket.
    pub fn remove_at(&mut self, (b, s): Pos) {
        let tag = self.buckets[b].tag(s);
        self.buckets[b].clear(s);
        self.len -= 1;
        let mut i = home(tag, self.buckets.len());
        while i != b {
            let o = self.overflow(i);
            if o != u8::MAX {
                self.set_overflow(i, o - 1);
            }
            i = self.next(i);
        }
    }

    /// Every occupied position, in table order.
    pub fn positions(&self) -> impl Iterator<Item = Pos> + '_ {
        (0..self.buckets.len())
            .flat_map(|b| (0..B::SLOTS).map(move |s| (b, s)))
            .filter(|&(b, s)| self.buckets[b].tag(s) != 0)
    }

    /// Starts loading the cache lines a lookup of hash `h` will read first.
    pub fn prefetch(&self, h: u64) {
        if self.buckets.is_empty() {
            return;
        }
        let b = home(tag_of(h), self.buckets.len());
        prefetch(&self.buckets[b]);
        if !B::INLINE_OVERFLOW {
            prefetch(&self.overflow[b]);
        }
    }

    /// Calls `f` with the slots of `h`'s home bucket whose tag matches (a bucket that
    /// `prefetch` asked for earlier, so that its keys can be asked for in turn).
    pub fn home_matches(&self, h: u64, mut f: impl FnMut(B::Slot)) {
        if self.buckets.is_empty() {
            return;
        }
        let tag = tag_of(h);
        let bucket = &self.buckets[home(tag, self.buckets.len())];
        for s in 0..B::SLOTS {
            if bucket.tag(s) == tag {
                f(bucket.slot(s));
            }
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<B>() + self.overflow.capacity()
    }

    /// Buckets an unsuccessful lookup of `h` reads.
    #[cfg(test)]
    pub fn miss_len(&self, h: u64) -> usize {
        let mut b = home(tag_of(h), self.buckets.len());
        let mut n = 1;
        while self.overflow(b) != 0 && n < self.buckets.len() {
            b = self.next(b);
            n += 1;
        }
        n
    }

    #[cfg(test)]
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    #[cfg(test)]
    pub fn overflow_counts(&self) -> Vec<u8> {
        (0..self.buckets.len()).map(|b| self.overflow(b)).collect()
    }

    #[cfg(test)]
    pub fn every_bucket_has_a_free_slot(&self) -> bool {
        self.buckets
            .iter()
            .all(|b| (0..B::SLOTS).any(|s| b.tag(s) == 0))
    }
}

/// A hint to the CPU to start loading `r`'s cache line; no effect on the program's state.
pub(super) fn prefetch<T: ?Sized>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no memory; `r` is a valid reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(r as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
