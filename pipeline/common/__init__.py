"""What every stage shares: word tokens and sentences, the bad-input error, compact JSON bytes."""
