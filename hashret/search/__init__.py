"""Search over packed binary codes by Hamming distance, one job per module.

=================  ===========================================================================
``bits``           packing bits into codes and back (bit i is bit i % 8 of byte i // 8)
``words``          codes as machine words; the popcount and trailing-zero intrinsics
``threads``        the thread pool the kernels run on
``topk``           keeping the k best candidates of a query
``scan``           the exact blocked scan (k-NN and range)
``planes``         the bit-sliced scan of 64-bit codes
``ball``           Hamming-ball lookup over a hash table of the distinct codes
``mih``            multi-index hashing
``kinds``          the structure behind each exact index kind (flat, hash, mih)
``approx``         faiss' approximate kinds (hnsw, ivf)
``container``      the index file on disk
``index``          :class:`BinaryCodeIndex`, the one entry point
``gpu``            the flat k-NN scan on a CUDA GPU
``rerank``         re-ranking Hamming candidates by a query's code logits
``metrics``        retrieval metrics (ranking, relevance, average precision)
=================  ===========================================================================
"""
