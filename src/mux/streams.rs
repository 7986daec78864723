//! Every source's stream in one map keyed by source id, polled only when it has something.
//!
//! `tokio_stream::StreamMap` does the same job, but it polls every stream it holds for each item
//! it yields, and inserting scans every key: with ten thousand idle files, each line of a busy
//! one costs ten thousand polls, and attaching the ten-thousandth file costs ten thousand
//! comparisons. Here each stream is polled with a waker of its own, which queues its id when the
//! stream wakes; the map polls only the queued ones, in the order they woke (so every busy
//! source gets its turn). Inserting, removing and finding a stream cost the same with ten or
//! ten thousand others. Source ids are small and never reused: the map is a vector indexed by
//! them.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio_stream::Stream;

/// Streams keyed by a small id; see the module docs.
pub struct Streams<S> {
    entries: Vec<Option<Entry<S>>>,
    live: usize,
    ready: Arc<Ready>,
}

struct Entry<S> {
    stream: S,
    waker: Arc<EntryWaker>,
}

/// The ids of streams that woke, and the task to tell.
#[derive(Default)]
struct Ready {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    queue: VecDeque<usize>,
    task: Option<Waker>,
}

/// One stream's waker: queues its id (once until it is polled again) and wakes the map's task.
struct EntryWaker {
    id: usize,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = {
            let mut ready = self.ready.inner.lock().unwrap_or_else(|e| e.into_inner());
            ready.queue.push_back(self.id);
            ready.task.clone()
        };
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl<S> Default for Streams<S> {
    fn default() -> Self {
        Streams { entries: Vec::new(), live: 0, ready: Arc::default() }
    }
}

impl<S: Stream + Unpin> Streams<S> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `stream` under `id` (replacing any stream there); it is polled soon.
    pub fn insert(&mut self, id: usize, stream: S) {
        if id >= self.entries.len() {
            self.entries.resize_with(id + 1, || None);
        }
        let waker =
            Arc::new(EntryWaker { id, queued: AtomicBool::new(false), ready: self.ready.clone() });
        if self.entries[id].replace(Entry { stream, waker: waker.clone() }).is_none() {
            self.live += 1;
        }
        // A new stream has not been polled yet: it must be, to register its waker.
        waker.wake_by_ref();
    }

    /// Takes the stream under `id` out of the map.
    pub fn remove(&mut self, id: &usize) -> Option<S> {
        let entry = self.entries.get_mut(*id)?.take()?;
        self.live -= 1;
        Some(entry.stream)
    }

    /// Whether a stream is under `id`.
    pub fn contains_key(&self, id: &usize) -> bool {
        self.entries.get(*id).is_some_and(Option::is_some)
    }

    /// Whether the map holds no stream.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Takes every stream out, in id order.
    pub fn drain(&mut self) -> impl Iterator<Item = (usize, S)> + '_ {
        self.live = 0;
        self.entries.iter_mut().enumerate().filter_map(|(id, e)| e.take().map(|e| (id, e.stream)))
    }
}

impl<S: Stream + Unpin> Stream for Streams<S> {
    type Item = (usize, S::Item);

    /// The next item of any stream that woke; `None` once the map is empty. A stream that ends
    /// is removed.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let id = {
                let mut ready = this.ready.inner.lock().unwrap_or_else(|e| e.into_inner());
                match ready.queue.pop_front() {
                    Some(id) => id,
                    None => {
                        if this.live == 0 {
                            return Poll::Ready(None);
                        }
                        if !ready.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                            ready.task = Some(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                }
            };
            // An id queued before its stream was removed (or replaced) is passed over.
            let Some(Some(entry)) = this.entries.get_mut(id) else { continue };
            entry.waker.queued.store(false, Ordering::Release);
            let waker = Waker::from(entry.waker.clone());
            match Pin::new(&mut entry.stream).poll_next(&mut Context::from_waker(&waker)) {
                Poll::Ready(Some(item)) => {
                    // It may have more ready already: it comes round again after the others.
                    entry.waker.wake_by_ref();
                    return Poll::Ready(Some((id, item)));
                }
                Poll::Ready(None) => {
                    this.entries[id] = None;
                    this.live -= 1;
                }
                Poll::Pending => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    #[test]
    fn yields_every_item_of_every_stream_and_ends_when_all_ended() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut map = Streams::new();
            let (tx_a, rx_a) = tokio::sync::mpsc::channel::<u32>(4);
            let (tx_b, rx_b) = tokio::sync::mpsc::channel::<u32>(4);
            map.insert(3, tokio_stream::wrappers::ReceiverStream::new(rx_a));
            map.insert(7, tokio_stream::wrappers::ReceiverStream::new(rx_b));
            assert!(map.contains_key(&3) && map.contains_key(&7) && !map.contains_key(&5));
            tokio::spawn(async move {
                for i in 0..10 {
                    tx_a.send(i).await.unwrap();
                    tx_b.send(100 + i).await.unwrap();
                }
            });
            let mut got = Vec::new();
            while let Some(item) = map.next().await {
                got.push(item);
            }
            let a: Vec<u32> = got.iter().filter(|(id, _)| *id == 3).map(|&(_, v)| v).collect();
            let b: Vec<u32> = got.iter().filter(|(id, _)| *id == 7).map(|&(_, v)| v).collect();
            assert_eq!(a, (0..10).collect::<Vec<_>>());
            assert_eq!(b, (100..110).collect::<Vec<_>>());
            assert!(map.is_empty());
        });
    }

    #[test]
    fn a_removed_stream_is_never_polled_again() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut map = Streams::new();
            let (tx_a, rx_a) = tokio::sync::mpsc::channel::<u32>(4);
            let (tx_b, rx_b) = tokio::sync::mpsc::channel::<u32>(4);
            map.insert(0, tokio_stream::wrappers::ReceiverStream::new(rx_a));
            map.insert(1, tokio_stream::wrappers::ReceiverStream::new(rx_b));
            tx_a.send(1).await.unwrap();
            assert!(map.remove(&0).is_some());
            assert!(map.remove(&0).is_none());
            tx_b.send(2).await.unwrap();
            assert_eq!(map.next().await, Some((1, 2)));
            drop(tx_b);
            assert_eq!(map.next().await, None, "the removed stream's item never comes");
            drop(tx_a);
        });
    }

    #[test]
    fn a_busy_stream_does_not_starve_the_others() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut map = Streams::new();
            map.insert(0, tokio_stream::iter(0..1000));
            map.insert(1, tokio_stream::iter(0..1));
            let mut first = Vec::new();
            for _ in 0..3 {
                first.push(map.next().await.unwrap());
            }
            assert!(first.contains(&(1, 0)), "the other stream had its turn: {first:?}");
        });
    }
}
