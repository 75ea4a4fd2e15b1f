package MiniHTTP;

# A minimal HTTP/1.1 client on one keep-alive connection, for timing one
# request at a time (bench/folders, bench/search; see Bench::timed): the
# whole request goes out in one write with TCP_NODELAY (HTTP::Tiny writes a
# POST's headers and body separately, and Nagle's algorithm against the
# server's delayed ACK then adds ~40 ms to every POST), and the answer is
# read by Content-Length or chunks. A connection the server closed while
# idle is reopened once. Core Perl modules only.

use strict;
use warnings;

use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

sub new {
	my ($class, $host, $port) = @_;
	return bless { host => $host, port => $port, sock => undef, buf => '' }, $class;
}

sub _connect {
	my ($self) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => $self->{host}, PeerPort => $self->{port}, Proto => 'tcp',
		Timeout => 10) or die "connect $self->{host}:$self->{port}: $!\n";
	setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1) or die "TCP_NODELAY: $!\n";
	binmode $s;
	$self->{sock} = $s;
	$self->{buf} = '';
}

# Read more bytes into the buffer; false at EOF.
sub _fill {
	my ($self) = @_;
	my $n = sysread $self->{sock}, $self->{buf}, 1 << 16, length $self->{buf};
	die "read: $!\n" unless defined $n;
	return $n > 0;
}

sub _read_exact {
	my ($self, $n) = @_;
	while (length $self->{buf} < $n) { $self->_fill or die "connection closed in the body\n" }
	return substr $self->{buf}, 0, $n, '';
}

sub _read_line {
	my ($self) = @_;
	my $i;
	until (($i = index $self->{buf}, "\r\n") >= 0) { $self->_fill or die "connection closed in a line\n" }
	my $line = substr $self->{buf}, 0, $i + 2, '';
	return substr $line, 0, -2;
}

# Returns {status, reason, headers (lower-case names), content}; status
# 599 with the error as content when the exchange failed.
sub request {
	my ($self, $method, $path, $headers, $content) = @_;
	my $req = "$method $path HTTP/1.1\r\nHost: $self->{host}:$self->{port}\r\nUser-Agent: coffer-bench/1\r\n";
	$req .= "$_: $headers->{$_}\r\n" for grep { defined $headers->{$_} } sort keys %$headers;
	$req .= 'Content-Length: ' . length($content) . "\r\n" if defined $content;
	$req .= "\r\n" . ($content // '');
	for my $try (1, 2) {
		my $fresh = !$self->{sock};
		my $r = eval {
			$self->_connect if $fresh;
			my $off = 0;
			while ($off < length $req) {
				my $w = syswrite $self->{sock}, $req, length($req) - $off, $off;
				die "write: $!\n" unless defined $w;
				$off += $w;
			}
			# an idle connection the server closed shows as EOF before any byte
			if (!length $self->{buf} && !$self->_fill) { die "EOF\n" }
			my ($status, $reason) = $self->_read_line =~ m{^HTTP/1\.[01] (\d{3}) ?(.*)\z}
				or die "bad status line\n";
			my %h;
			while (length(my $line = $self->_read_line)) {
				my ($k, $v) = $line =~ /^([^:]+):\s*(.*)\z/ or die "bad header line '$line'\n";
				$h{ lc $k } = $v;
			}
			my $body = '';
			if ($method eq 'HEAD' || $status == 204 || $status == 304) {
			} elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
				while (1) {
					my ($size) = $self->_read_line =~ /^([0-9a-fA-F]+)/ or die "bad chunk size\n";
					last if hex($size) == 0;
					$body .= $self->_read_exact(hex $size);
					$self->_read_line;
				}
				1 while length $self->_read_line;    # trailers
			} elsif (defined $h{'content-length'}) {
				$body = $self->_read_exact($h{'content-length'});
			} else {
				1 while $self->_fill;
				$body = $self->{buf};
				$self->{buf} = '';
				$h{connection} = 'close';
			}
			if (($h{connection} // '') =~ /close/i) {
				close $self->{sock};
				$self->{sock} = undef;
			}
			{ status => $status, reason => $reason, headers => \%h, content => $body };
		};
		return $r if $r;
		my $err = $@;
		close $self->{sock} if $self->{sock};
		$self->{sock} = undef;
		next if $try == 1 && !$fresh && $err eq "EOF\n";
		return { status => 599, reason => 'client error', headers => {}, content => $err };
	}
}

1;
