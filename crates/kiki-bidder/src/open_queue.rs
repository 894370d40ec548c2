//! The notice ledger's queue of open bids: a FIFO per shard, in issue order,
//! addressed by position (a bid id decodes to its shard and position). Kept in
//! fixed blocks so that growing never moves the bids already queued.

use std::collections::VecDeque;

use crate::notice::IssuedBid;

/// A bid issued and not yet past its hold timeout, in issue order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Open {
    pub bid: IssuedBid,
    /// A notice came: the bid's state lives in `entries` now.
    pub noticed: bool,
}

/// Bids per block of [`OpenQueue`].
pub(crate) const BLOCK: usize = 1024;

/// Emptied blocks kept per queue for the next growth. Expiry pops a second's
/// worth of bids at once (two blocks per shard at ~60,000 bids/s), and the
/// bid path refills them over the following second: blocks freed and
/// allocated again would come back from the allocator as fresh pages, which
/// it has returned to the OS meanwhile, so every one would fault in anew.
pub(crate) const SPARE_BLOCKS: usize = 4;

/// A FIFO of open bids in fixed blocks of [`BLOCK`]: growing adds a block and
/// never moves the bids already queued (a `VecDeque` would copy the whole
/// queue, megabytes at a high bid rate, while the shard's lock is held).
#[derive(Debug, Default)]
pub(crate) struct OpenQueue {
    blocks: VecDeque<Vec<Open>>,
    /// Bids already popped from the first block.
    head: usize,
    /// Emptied blocks kept for the next growth (at most [`SPARE_BLOCKS`]).
    spare: Vec<Vec<Open>>,
}

impl OpenQueue {
    pub(crate) fn push_back(&mut self, o: Open) {
        if self.blocks.back().is_none_or(|b| b.len() == BLOCK) {
            let block = self
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(BLOCK));
            self.blocks.push_back(block);
        }
        if let Some(b) = self.blocks.back_mut() {
            b.push(o);
        }
    }

    pub(crate) fn front(&self) -> Option<&Open> {
        self.blocks.front().and_then(|b| b.get(self.head))
    }

    pub(crate) fn pop_front(&mut self) {
        let Some(first) = self.blocks.front() else {
            return;
        };
        if self.head < first.len() {
            self.head += 1;
        }
        if self.head == BLOCK
            && let Some(mut done) = self.blocks.pop_front()
        {
            self.head = 0;
            if self.spare.len() < SPARE_BLOCKS {
                done.clear();
                self.spare.push(done);
            }
        }
    }

    /// The `i`-th bid from the front.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Open> {
        let at = self.head + i;
        self.blocks.get_mut(at / BLOCK)?.get_mut(at % BLOCK)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Open> {
        self.blocks.iter().flatten().skip(self.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineitem::LineItemId;
    use crate::notice::BidId;

    fn open(n: u64) -> Open {
        Open {
            bid: IssuedBid {
                bid_id: BidId(n),
                line_item: LineItemId::from(uuid::Uuid::from_u128(7)),
                hold_micros: 3_000,
                hold_day: 1,
                price_micros: 3_000_000,
                freq: None,
                issued_ms: 1_000,
                test: false,
            },
            noticed: false,
        }
    }

    #[test]
    fn the_open_queue_keeps_order_across_blocks() {
        let mut q = OpenQueue::default();
        for n in 0..(3 * BLOCK as u64 + 7) {
            q.push_back(open(n));
        }
        assert_eq!(q.iter().count(), 3 * BLOCK + 7);
        assert_eq!(
            q.get_mut(2 * BLOCK + 5).unwrap().bid.bid_id,
            BidId(2 * BLOCK as u64 + 5)
        );
        for _ in 0..(BLOCK + 10) {
            q.pop_front();
        }
        assert_eq!(q.front().unwrap().bid.bid_id, BidId(BLOCK as u64 + 10));
        assert_eq!(q.get_mut(0).unwrap().bid.bid_id, BidId(BLOCK as u64 + 10));
        assert_eq!(q.iter().count(), 2 * BLOCK - 3);
        assert_eq!(q.spare.len(), 1, "an emptied block is kept for reuse");
        while q.front().is_some() {
            q.pop_front();
        }
        assert_eq!(q.iter().count(), 0);
        assert!(q.get_mut(0).is_none());
        // The partly filled last block keeps taking bids after being drained.
        q.push_back(open(99));
        assert_eq!(q.front().unwrap().bid.bid_id, BidId(99));
        assert_eq!(q.iter().count(), 1);
    }

    #[test]
    fn emptied_blocks_are_kept_up_to_the_limit_and_reused_first() {
        let mut q = OpenQueue::default();
        let blocks = SPARE_BLOCKS + 3;
        for n in 0..(blocks * BLOCK) as u64 {
            q.push_back(open(n));
        }
        // One expiry pass pops them all: only SPARE_BLOCKS stay allocated.
        for _ in 0..blocks * BLOCK {
            q.pop_front();
        }
        assert_eq!(q.spare.len(), SPARE_BLOCKS);
        assert!(
            q.spare
                .iter()
                .all(|b| b.is_empty() && b.capacity() == BLOCK)
        );
        let kept: Vec<*const Open> = q.spare.iter().map(|b| b.as_ptr()).collect();
        // Refilling takes the kept blocks before allocating any.
        for n in 0..(2 * BLOCK) as u64 {
            q.push_back(open(n));
        }
        assert_eq!(q.spare.len(), SPARE_BLOCKS - 2);
        let in_use: Vec<*const Open> = q.blocks.iter().map(|b| b.as_ptr()).collect();
        assert!(in_use.iter().all(|p| kept.contains(p)));
        assert_eq!(q.front().unwrap().bid.bid_id, BidId(0));
    }
}
