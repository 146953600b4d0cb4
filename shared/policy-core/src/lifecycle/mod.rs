//! A policy's life after it is bound: endorsements, cancellations, reinstatements and renewals,
//! each an entry of an append-only ledger whose money balances to the cent, under each state's
//! rules. Pure: the use cases that read and write the ledger are with the other use cases, over
//! the store.

pub mod changes;
pub mod ledger;
pub mod rules;

pub use ledger::{
    CancelReason, Cancellation, Capping, Kind, Made, Premium, RefundMethod, Refused, Schedule,
    Standing, Transaction, cancel, check_backdating, endorse, new_business, premium, reinstate,
    renew, standing,
};
pub use rules::{Rules, RulesError, StateRules};
