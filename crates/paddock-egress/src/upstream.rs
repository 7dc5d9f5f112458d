//! Forwarding an allowed question to the upstream resolver.
//!
//! Only the question triple leaves: a fresh message with a random ID, recursion desired, our own
//! EDNS record (the client's DO bit copied, none of its options). hickory-net's UDP client picks
//! a random source port and discards replies whose address, ID or question do not match. A
//! truncated UDP reply is retried over TCP within the same deadline.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::{DnsHandle, DnsRequestSender, FirstAnswer};
use hickory_net::NetError;
use hickory_proto::op::{DnsRequest, DnsRequestOptions, Message, Query};
use tokio::time::Instant;

/// Concurrent requests on the one TCP connection a truncated answer opens.
const TCP_MAX_ACTIVE: usize = 1;

/// Why the upstream gave no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// No answer before the deadline.
    Timeout,
    /// A socket error (refused, unreachable) or an unparsable reply.
    Network,
}

impl UpstreamError {
    /// A stable code for audit events.
    pub(crate) fn code(self) -> &'static str {
        match self {
            UpstreamError::Timeout => "timeout",
            UpstreamError::Network => "network",
        }
    }
}

impl From<NetError> for UpstreamError {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Timeout => UpstreamError::Timeout,
            _ => UpstreamError::Network,
        }
    }
}

/// The upstream resolver and how long a question may take there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    pub(crate) timeout: Duration,
}

impl Upstream {
    /// Resolves `query` upstream, over UDP and then TCP if the reply was truncated, all within
    /// `self.timeout`.
    pub(crate) async fn resolve(
        &self,
        query: Query,
        dnssec_ok: bool,
    ) -> Result<Message, UpstreamError> {
        let deadline = Instant::now() + self.timeout;
        let mut options = DnsRequestOptions::default();
        options.recursion_desired = true;
        options.use_edns = true;
        options.edns_set_dnssec_ok = dnssec_ok;
        let udp = tokio::time::timeout_at(deadline, self.over_udp(&query, options))
            .await
            .map_err(|_| UpstreamError::Timeout)??;
        if !udp.metadata.truncation {
            return Ok(udp);
        }
        tokio::time::timeout_at(deadline, self.over_tcp(&query, options, deadline))
            .await
            .map_err(|_| UpstreamError::Timeout)?
    }

    async fn over_udp(
        &self,
        query: &Query,
        options: DnsRequestOptions,
    ) -> Result<Message, UpstreamError> {
        let mut stream = UdpClientStream::builder(self.addr, TokioRuntimeProvider::new())
            .with_timeout(Some(self.timeout))
            .build();
        let request = DnsRequest::from_query(query.clone(), options);
        let response = stream.send_message(request).first_answer().await?;
        Ok(response.into_message())
    }

    async fn over_tcp(
        &self,
        query: &Query,
        options: DnsRequestOptions,
        deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The provider's handle owns the exchange's background task (a JoinSet that aborts its
        // tasks when dropped), so it lives until the answer is in.
        let provider = TokioRuntimeProvider::new();
        let exchange = TcpClientStream::exchange(
            self.addr,
            None,
            remaining,
            Some(TCP_MAX_ACTIVE),
            provider.clone(),
        )
        .await?;
        let request = DnsRequest::from_query(query.clone(), options);
        let response = exchange.send(request).first_answer().await?;
        drop(provider);
        Ok(response.into_message())
    }
}
