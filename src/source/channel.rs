//! The small bounded channel between a source's producer and its stream.
//!
//! Ten thousand files each have one, so it is kept small: a queue of at most [`CAP`] events
//! behind one lock (tokio's channel sets out room for 32 events up front, and pads its halves to
//! cache lines: about 1.5 KB per source). Async senders wait for room on a `Notify`, threads on a
//! `Condvar`; the receiver is a stream's `poll_recv`. The channel closes when every sender is
//! gone (the receiver sees the end once the queue is empty) or when the receiver is dropped
//! (senders then fail).
//!
//! A sender may also take a place in the queue before it has a value ([`Sender::reserve`]):
//! inputs that read only once they hold a place keep at most [`CAP`] read batches waiting
//! between them, however many of them there are.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

/// How many events may wait before senders wait.
pub const CAP: usize = 4;

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Room was made (async senders).
    room: Notify,
    /// Room was made (senders on threads of their own).
    room_cv: Condvar,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Places taken by [`Permit`]s not yet used.
    reserved: usize,
    senders: usize,
    receiver_gone: bool,
    receiver: Option<Waker>,
    /// Threads waiting on `room_cv` (a `Condvar` is told only when one waits: telling it costs
    /// a system call).
    blocked: u32,
}

/// The sending half; clones send into the same channel.
pub struct Sender<T>(Arc<Shared<T>>);

/// The receiving half.
pub struct Receiver<T>(Arc<Shared<T>>);

/// The receiver is gone; the value comes back.
#[derive(Debug)]
pub struct Closed<T>(pub T);

/// A new channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            reserved: 0,
            senders: 1,
            receiver_gone: false,
            receiver: None,
            blocked: 0,
        }),
        room: Notify::new(),
        room_cv: Condvar::new(),
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells a waiting sender that a place is free.
    fn made_room(&self, blocked: bool) {
        self.room.notify_one();
        if blocked {
            self.room_cv.notify_one();
        }
    }
}

impl<T> State<T> {
    fn is_full(&self) -> bool {
        self.queue.len() + self.reserved >= CAP
    }
}

/// A place in the queue, taken by [`Sender::reserve`]; dropping it unused gives it back.
pub struct Permit<'a, T>(&'a Sender<T>);

impl<T> Permit<'_, T> {
    /// Puts `value` in the place taken; fails only when the receiver is gone.
    pub fn send(self, value: T) -> Result<(), Closed<T>> {
        let shared = &*(self.0).0;
        std::mem::forget(self);
        let mut state = shared.lock();
        state.reserved -= 1;
        if state.receiver_gone {
            return Err(Closed(value));
        }
        push(state, value);
        Ok(())
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        let shared = &*(self.0).0;
        let mut state = shared.lock();
        state.reserved -= 1;
        let blocked = state.blocked > 0;
        drop(state);
        shared.made_room(blocked);
    }
}

impl<T> Sender<T> {
    /// Puts `value` in the queue if there is room: `Ok(None)` when it went, `Ok(Some(value))`
    /// when the queue is full.
    fn offer(&self, value: T) -> Result<Option<T>, Closed<T>> {
        let state = self.0.lock();
        if state.receiver_gone {
            return Err(Closed(value));
        }
        if state.is_full() {
            return Ok(Some(value));
        }
        push(state, value);
        Ok(None)
    }

    /// Takes a place in the queue, waiting for one; fails when the receiver is gone.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, Closed<()>> {
        loop {
            let room = self.0.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut state = self.0.lock();
                if state.receiver_gone {
                    return Err(Closed(()));
                }
                if !state.is_full() {
                    state.reserved += 1;
                    return Ok(Permit(self));
                }
            }
            room.await;
        }
    }

    /// Sends, waiting for room.
    pub async fn send(&self, mut value: T) -> Result<(), Closed<T>> {
        loop {
            let room = self.0.room.notified();
            tokio::pin!(room);
            // Registered before looking, so that room made in between is not missed.
            room.as_mut().enable();
            match self.offer(value)? {
                None => return Ok(()),
                Some(back) => value = back,
            }
            room.await;
        }
    }

    /// Sends if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), Closed<T>> {
        match self.offer(value)? {
            None => Ok(()),
            Some(back) => Err(Closed(back)),
        }
    }

    /// Sends from a thread outside the runtime, blocking for room.
    pub fn blocking_send(&self, value: T) -> Result<(), Closed<T>> {
        let mut state = self.0.lock();
        loop {
            if state.receiver_gone {
                return Err(Closed(value));
            }
            if !state.is_full() {
                break;
            }
            state.blocked += 1;
            state = self.0.room_cv.wait(state).unwrap_or_else(|e| e.into_inner());
            state.blocked -= 1;
        }
        push(state, value);
        Ok(())
    }
}

/// Queues `value` (there is room) and wakes the receiver.
fn push<T>(mut state: MutexGuard<'_, State<T>>, value: T) {
    state.queue.push_back(value);
    let receiver = state.receiver.take();
    drop(state);
    if let Some(receiver) = receiver {
        receiver.wake();
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.senders -= 1;
        if state.senders == 0 {
            let receiver = state.receiver.take();
            drop(state);
            if let Some(receiver) = receiver {
                receiver.wake();
            }
        }
    }
}

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone and the queue is empty.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.0.lock();
        if let Some(value) = state.queue.pop_front() {
            if state.queue.is_empty() {
                // An idle source holds no queue (ten thousand of them wait).
                state.queue = VecDeque::new();
            }
            let blocked = state.blocked > 0;
            drop(state);
            self.0.made_room(blocked);
            return Poll::Ready(Some(value));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        if !state.receiver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            state.receiver = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiver_gone = true;
        // What was queued goes now, not when the last sender does.
        let queued = std::mem::take(&mut state.queue);
        let blocked = state.blocked > 0;
        drop(state);
        drop(queued);
        self.0.room.notify_waiters();
        if blocked {
            self.0.room_cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn values_arrive_in_order_and_the_end_after_them() {
        rt().block_on(async {
            let (tx, mut rx) = channel::<u32>();
            let tx2 = tx.clone();
            let sender = tokio::spawn(async move {
                for i in 0..100 {
                    tx.send(i).await.unwrap();
                }
            });
            let thread = std::thread::spawn(move || {
                for i in 100..200 {
                    tx2.blocking_send(i).unwrap();
                }
            });
            let mut got = Vec::new();
            while let Some(v) = poll_fn(|cx| rx.poll_recv(cx)).await {
                got.push(v);
            }
            sender.await.unwrap();
            thread.join().unwrap();
            let (mut a, mut b): (Vec<u32>, Vec<u32>) = got.into_iter().partition(|&v| v < 100);
            assert_eq!(a, (0..100).collect::<Vec<_>>(), "one sender's values in order");
            assert_eq!(b, (100..200).collect::<Vec<_>>());
            a.clear();
            b.clear();
        });
    }

    #[test]
    fn a_full_channel_holds_senders_back_and_a_dropped_receiver_frees_them() {
        rt().block_on(async {
            let (tx, mut rx) = channel::<u32>();
            for i in 0..CAP as u32 {
                tx.try_send(i).unwrap();
            }
            assert!(tx.try_send(99).is_err(), "full");
            let waiting = tokio::spawn(async move { tx.send(7).await.is_err() });
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished(), "a sender waits for room");
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(0));
            drop(rx);
            // Room was made, then the receiver went: the send went or failed, and ended.
            let _ = waiting.await.unwrap();
        });
    }

    #[test]
    fn places_taken_count_as_queued_until_used_or_given_back() {
        rt().block_on(async {
            let (tx, mut rx) = channel::<u32>();
            let mut permits = Vec::new();
            for _ in 0..CAP {
                permits.push(tx.reserve().await.unwrap());
            }
            assert!(tx.try_send(99).is_err(), "every place is taken");
            drop(permits.pop());
            tx.try_send(1).unwrap();
            assert!(tx.try_send(99).is_err(), "full again");
            permits.pop().unwrap().send(2).unwrap();
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(1));
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(2));
            drop(permits);
            for i in 0..CAP as u32 {
                tx.try_send(i).unwrap();
            }
            drop(rx);
            assert!(tx.reserve().await.is_err(), "no place once the receiver is gone");
        });
    }
}
