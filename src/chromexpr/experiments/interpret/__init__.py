"""What the single-cell classifiers learned: attention maps, class optimization, input gradients and integrated
gradients, linear weights, and DeepChrome 2.0's GAN Monte-Carlo, on each run's test genes."""
