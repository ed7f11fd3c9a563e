//! The page's one sort routine. Each `sort_by` or `sort_by_key` on its own element type or
//! closure compiles its own copy of the standard library's stable sort (a few KB of wasm
//! each); the page sorts positions through [`indices`] instead, with the comparison behind a
//! `&dyn Fn`, and moves the elements after. The order is the standard library's stable sort's:
//! elements that compare equal keep their order.

use std::cmp::Ordering;

/// Sorts `order` (positions of something) stably by `cmp`.
#[inline(never)]
pub fn indices(order: &mut [u32], cmp: &dyn Fn(u32, u32) -> Ordering) {
    order.sort_by(|a, b| cmp(*a, *b));
}

/// `v.sort_by(cmp)`.
pub fn by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let mut order: Vec<u32> = (0..v.len() as u32).collect();
    indices(&mut order, &|a, b| cmp(&v[a as usize], &v[b as usize]));
    permute(v, &mut order);
}

/// `v.sort_by_cached_key(key)`: `key` once per element.
pub fn by_cached_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let keys: Vec<K> = v.iter().map(key).collect();
    let mut order: Vec<u32> = (0..v.len() as u32).collect();
    indices(&mut order, &|a, b| keys[a as usize].cmp(&keys[b as usize]));
    permute(v, &mut order);
}

/// Puts element `order[k]` of `v` at `k`, cycle by cycle; `order` is used up.
fn permute<T>(v: &mut [T], order: &mut [u32]) {
    for start in 0..order.len() {
        let mut at = start;
        while order[at] as usize != start {
            let from = order[at] as usize;
            v.swap(at, from);
            order[at] = at as u32;
            at = from;
        }
        order[at] = at as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_the_standard_library_sorts() {
        let mut seed = 7u32;
        for len in [0usize, 1, 2, 3, 5, 17, 64, 300] {
            let v: Vec<(u8, u32)> = (0..len as u32)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((seed >> 16) as u8 % 5, i)
                })
                .collect();
            let mut ours = v.clone();
            by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std = v.clone();
            std.sort_by_key(|a| a.0);
            assert_eq!(ours, std, "stable, {len}");
            let mut ours = v.clone();
            by_cached_key(&mut ours, |x| std::cmp::Reverse(x.0));
            let mut std = v.clone();
            std.sort_by_cached_key(|x| std::cmp::Reverse(x.0));
            assert_eq!(ours, std, "cached key, {len}");
        }
    }
}
