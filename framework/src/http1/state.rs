//! The request/response cycle as a state machine, after h11's `_state.py`.
//!
//! Rule 1: every state transition lives in this file.
//! Rule 2: this file does not know which role we play. It tracks the client's
//! side and the server's side of one HTTP/1.1 connection in the abstract; the
//! codec decides which events to feed it.
//!
//! Two kinds of transition exist. Event-triggered ones move one side when it
//! sends something (a request, a response head, the end of a message). State-
//! triggered ones follow from the pair of states, and are applied after every
//! event ([`ConnectionState::fire_state_triggered`]): a side that is `Done` on a
//! connection that cannot be kept alive moves to `MustClose`, and a server whose
//! client has closed moves to `MustClose` once it has nothing left to send.

use super::error::LocalProtocolError;

/// Where one side of the connection is in the current request/response cycle.
///
/// # Tornado
///
/// Tornado keeps the same facts in flags on `HTTP1Connection`
/// (`_read_finished`, `_write_finished`, `_disconnect_on_finish`); the names
/// here are h11's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Nothing sent yet in this cycle.
    Idle,
    /// (Server only) the request head has arrived; the response head has not
    /// been sent. Informational (1xx) responses keep the server here.
    SendResponse,
    /// The head is sent; body bytes may follow.
    SendBody,
    /// The message is complete; waiting for the other side, or for
    /// `start_next_cycle`.
    Done,
    /// The message is complete and the connection cannot be reused: close it
    /// once everything written has been flushed.
    MustClose,
    /// This side closed its half of the connection.
    Closed,
    /// The server sent `101 Switching Protocols`: the bytes that follow are no
    /// longer HTTP/1.
    SwitchedProtocol,
    /// This side broke the protocol; nothing more can be sent or parsed.
    Error,
}

/// Which side of the connection an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// An event that moves one side from one state to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    /// The client sent a complete request head.
    Request,
    /// The server sent a 1xx head other than 101.
    InformationalResponse,
    /// The server sent a final (2xx–5xx) response head.
    Response,
    /// The server sent `101 Switching Protocols`.
    SwitchProtocols,
    /// The side finished its message body.
    EndOfMessage,
    /// The side closed its half of the connection.
    ConnectionClosed,
}

/// Both sides' states plus the keep-alive flag they share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnectionState {
    /// The client's (the peer's) side.
    client: State,
    /// The server's (our) side.
    server: State,
    /// Cleared by anything that rules out reuse (`Connection: close`, a
    /// close-delimited response, an error); once cleared it stays cleared for
    /// the life of the connection.
    keep_alive: bool,
}

impl ConnectionState {
    /// A fresh connection: both sides idle, keep-alive possible.
    pub(crate) fn new() -> ConnectionState {
        ConnectionState {
            client: State::Idle,
            server: State::Idle,
            keep_alive: true,
        }
    }

    pub(crate) fn client(&self) -> State {
        self.client
    }

    pub(crate) fn server(&self) -> State {
        self.server
    }

    pub(crate) fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Applies the event-triggered transition for `side`, or refuses it.
    pub(crate) fn process_event(
        &mut self,
        side: Side,
        transition: Transition,
    ) -> Result<(), LocalProtocolError> {
        use State::*;
        use Transition as T;
        match (side, transition, self.client, self.server) {
            (Side::Client, T::Request, Idle, _) => {
                self.client = SendBody;
                if self.server == Idle {
                    self.server = SendResponse;
                }
            }
            (Side::Client, T::EndOfMessage, SendBody, _) => self.client = Done,
            (Side::Client, T::ConnectionClosed, Idle | Done | MustClose, _) => {
                self.client = Closed;
            }
            (Side::Server, T::InformationalResponse, _, SendResponse) => {}
            // A server may answer a request it could not parse (client in
            // `Error`) without ever having seen a request head.
            (Side::Server, T::Response, _, SendResponse)
            | (Side::Server, T::Response, Error, Idle) => {
                self.server = SendBody;
            }
            // `MustClose`: the request's `Connection` also said `close`
            // (or keep-alive was ruled out otherwise); the switch takes
            // the connection over all the same, as Tornado's does.
            (Side::Server, T::SwitchProtocols, Done | MustClose, SendResponse) => {
                self.client = SwitchedProtocol;
                self.server = SwitchedProtocol;
            }
            (Side::Server, T::EndOfMessage, _, SendBody) => self.server = Done,
            _ => return Err(LocalProtocolError::WrongState),
        }
        self.fire_state_triggered();
        Ok(())
    }

    /// Marks `side` as having broken the protocol. The connection cannot be
    /// reused afterwards.
    pub(crate) fn process_error(&mut self, side: Side) {
        match side {
            Side::Client => self.client = State::Error,
            Side::Server => self.server = State::Error,
        }
        self.process_keep_alive_disabled();
    }

    /// Rules out reuse of the connection after the current cycle.
    pub(crate) fn process_keep_alive_disabled(&mut self) {
        self.keep_alive = false;
        self.fire_state_triggered();
    }

    /// Moves both sides from `Done` back to `Idle` for the next request.
    pub(crate) fn start_next_cycle(&mut self) -> Result<(), LocalProtocolError> {
        if (self.client, self.server) != (State::Done, State::Done) {
            return Err(LocalProtocolError::NotReusable);
        }
        self.client = State::Idle;
        self.server = State::Idle;
        Ok(())
    }

    /// Applies the transitions implied by the pair of states.
    fn fire_state_triggered(&mut self) {
        if !self.keep_alive {
            for state in [&mut self.client, &mut self.server] {
                if *state == State::Done {
                    *state = State::MustClose;
                }
            }
        }
        // The client hung up: once the server has nothing left to send there
        // is no next request to wait for.
        if self.client == State::Closed && matches!(self.server, State::Idle | State::Done) {
            self.server = State::MustClose;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::State::*;
    use super::Transition as T;
    use super::*;

    fn run(steps: &[(Side, T)]) -> Result<ConnectionState, LocalProtocolError> {
        let mut cs = ConnectionState::new();
        for &(side, t) in steps {
            cs.process_event(side, t)?;
        }
        Ok(cs)
    }

    const C: Side = Side::Client;
    const S: Side = Side::Server;

    #[test]
    fn event_triggered_transitions() {
        type Steps = &'static [(Side, T)];
        let cases: &[(Steps, (State, State))] = &[
            (&[], (Idle, Idle)),
            (&[(C, T::Request)], (SendBody, SendResponse)),
            (
                &[(C, T::Request), (S, T::InformationalResponse)],
                (SendBody, SendResponse),
            ),
            (&[(C, T::Request), (S, T::Response)], (SendBody, SendBody)),
            (
                &[(C, T::Request), (C, T::EndOfMessage)],
                (Done, SendResponse),
            ),
            (
                &[
                    (C, T::Request),
                    (C, T::EndOfMessage),
                    (S, T::Response),
                    (S, T::EndOfMessage),
                ],
                (Done, Done),
            ),
            (
                &[
                    (C, T::Request),
                    (C, T::EndOfMessage),
                    (S, T::SwitchProtocols),
                ],
                (SwitchedProtocol, SwitchedProtocol),
            ),
            (&[(C, T::ConnectionClosed)], (Closed, MustClose)),
            (
                &[
                    (C, T::Request),
                    (C, T::EndOfMessage),
                    (C, T::ConnectionClosed),
                ],
                (Closed, SendResponse),
            ),
            (
                &[
                    (C, T::Request),
                    (C, T::EndOfMessage),
                    (C, T::ConnectionClosed),
                    (S, T::Response),
                    (S, T::EndOfMessage),
                ],
                (Closed, MustClose),
            ),
        ];
        for (steps, (client, server)) in cases {
            let cs = run(steps).unwrap();
            assert_eq!((cs.client(), cs.server()), (*client, *server), "{steps:?}");
        }
    }

    #[test]
    fn switching_protocols_after_a_request_that_said_close() {
        let mut cs = run(&[(C, T::Request), (C, T::EndOfMessage)]).unwrap();
        cs.process_keep_alive_disabled();
        assert_eq!((cs.client(), cs.server()), (MustClose, SendResponse));
        cs.process_event(S, T::SwitchProtocols).unwrap();
        assert_eq!(
            (cs.client(), cs.server()),
            (SwitchedProtocol, SwitchedProtocol)
        );
    }

    #[test]
    fn invalid_transitions_are_refused() {
        let cases: &[&[(Side, T)]] = &[
            &[(S, T::Response)],
            &[(C, T::EndOfMessage)],
            &[(C, T::Request), (C, T::Request)],
            &[(C, T::Request), (C, T::ConnectionClosed)],
            &[(C, T::Request), (S, T::EndOfMessage)],
            &[(C, T::Request), (S, T::Response), (S, T::Response)],
            &[(C, T::Request), (S, T::SwitchProtocols)],
            &[(S, T::InformationalResponse)],
        ];
        for steps in cases {
            assert_eq!(run(steps), Err(LocalProtocolError::WrongState), "{steps:?}");
        }
    }

    #[test]
    fn keep_alive_cycle_and_must_close() {
        let full = [
            (C, T::Request),
            (C, T::EndOfMessage),
            (S, T::Response),
            (S, T::EndOfMessage),
        ];
        let mut cs = run(&full).unwrap();
        cs.start_next_cycle().unwrap();
        assert_eq!((cs.client(), cs.server()), (Idle, Idle));

        let mut cs = run(&full).unwrap();
        cs.process_keep_alive_disabled();
        assert_eq!((cs.client(), cs.server()), (MustClose, MustClose));
        assert!(!cs.keep_alive());
        assert_eq!(cs.start_next_cycle(), Err(LocalProtocolError::NotReusable));

        let mut cs = run(&full[..3]).unwrap();
        assert_eq!(cs.start_next_cycle(), Err(LocalProtocolError::NotReusable));
    }

    #[test]
    fn server_may_answer_a_client_error() {
        let mut cs = ConnectionState::new();
        cs.process_error(Side::Client);
        cs.process_event(S, T::Response).unwrap();
        cs.process_event(S, T::EndOfMessage).unwrap();
        assert_eq!((cs.client(), cs.server()), (Error, MustClose));
        // Without a client error the server cannot respond from Idle.
        assert_eq!(
            ConnectionState::new().process_event(S, T::Response),
            Err(LocalProtocolError::WrongState)
        );
    }
}
